"""Student version: the hint's one-cluster-at-a-time style in a loop, EPSILON in every denominator.
"""


class GMM1D:
    def estep(self, X):
        k = self.num_gaussians
        joint_columns = []
        for j in range(k):
            mu_j = self.mus[j]
            var_j = self.variances[j] + EPSILON
            p_x_given_j = np.exp(-((X - mu_j) ** 2) / (2.0 * var_j + EPSILON)) / (np.sqrt(2.0 * np.pi * var_j) + EPSILON)
            joint_columns.append(self.priors[j] * p_x_given_j)  # (n, 1)
        joint = np.hstack(joint_columns)  # (n, k)
        p_x = np.sum(joint, axis=1, keepdims=True)
        return joint / (p_x + EPSILON)

    def mstep(self, X, gammas):
        n = X.shape[0]
        k = self.num_gaussians
        new_priors = np.zeros((k, 1))
        new_mus = np.zeros((k, 1))
        new_variances = np.zeros((k, 1))
        for j in range(k):
            gamma_j = gammas[:, j:j + 1]  # (n, 1)
            n_j = np.sum(gamma_j)
            new_priors[j] = n_j / (n + EPSILON)
            new_mus[j] = np.sum(gamma_j * X) / (n_j + EPSILON)
            new_variances[j] = np.sum(gamma_j * (X - new_mus[j]) ** 2) / (n_j + EPSILON)
        self.priors = new_priors
        self.mus = new_mus
        self.variances = new_variances
