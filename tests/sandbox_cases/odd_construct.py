"""A constructor that stores odd things: a float count, a list, a string, no variances."""


class GMM1D:
    def __init__(self, num_gaussians):
        self.num_gaussians = float(num_gaussians)
        self.priors = [1.0 / num_gaussians] * num_gaussians
        self.mus = "not numbers"
