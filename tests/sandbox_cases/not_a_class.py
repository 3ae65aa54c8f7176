def GMM1D(num_gaussians):
    return None
