"""Hint for Lab 3: EM for a mixture of exactly TWO one-dimensional Gaussians.

This file is complete and runs on its own: ``python two_gaussian_1dgm.py`` fits two clusters
to a small synthetic data set, prints the log-likelihood after every iteration and the final
parameters, and checks that the log-likelihood never went down.

Every formula is written out once per cluster, with one plain number per parameter
(``mu1``, ``mu2``, ...), so you can read the E-step and M-step line by line. Your
``gmm1d.py`` must do the same for ANY number of clusters k, so there you will want arrays
with one row or column per cluster instead of one variable per cluster.

Shapes: X is (n, 1), one point per row. ``estep`` returns gammas of shape (n, 2): column 0
holds P(cluster 1 | x_i), column 1 holds P(cluster 2 | x_i), the same layout GMM1D uses.
"""

import sys

import numpy as np

EPSILON = 1e-12  # added to denominators so a division can never be 0 / 0


def pdf(X, mu, variance):
    """Gaussian density N(X | mu, variance), elementwise."""
    return np.exp(-((X - mu) ** 2) / (2.0 * variance)) / np.sqrt(2.0 * np.pi * variance)


class TwoGaussian1DGM:
    """A two-cluster 1-D Gaussian mixture with one number per parameter per cluster."""

    def __init__(self, prior1=0.5, mu1=-0.5, variance1=1.0, prior2=0.5, mu2=0.5, variance2=1.0):
        self.prior1, self.mu1, self.variance1 = prior1, mu1, variance1
        self.prior2, self.mu2, self.variance2 = prior2, mu2, variance2

    def log_likelihood(self, X):
        """Sum over the points of log p(x_i), p(x) = prior1 N(x|mu1,var1) + prior2 N(x|mu2,var2)."""
        p = self.prior1 * pdf(X, self.mu1, self.variance1) + self.prior2 * pdf(
            X, self.mu2, self.variance2
        )
        return float(np.sum(np.log(p)))

    def estep(self, X):
        """Posterior of each cluster for each point (Bayes' rule). X: (n, 1) -> gammas (n, 2)."""
        # p(x_i and cluster c) = prior_c * N(x_i | mu_c, var_c), an (n, 1) column per cluster
        joint1 = self.prior1 * pdf(X, self.mu1, self.variance1)
        joint2 = self.prior2 * pdf(X, self.mu2, self.variance2)
        # p(x_i) = the sum over the clusters
        evidence = joint1 + joint2
        # P(cluster c | x_i) = p(x_i and cluster c) / p(x_i)
        gamma1 = joint1 / (evidence + EPSILON)
        gamma2 = joint2 / (evidence + EPSILON)
        return np.hstack([gamma1, gamma2])  # (n, 2): one column per cluster

    def mstep(self, X, gammas):
        """Maximum-likelihood parameters for the given posteriors. X: (n, 1), gammas: (n, 2)."""
        n = X.shape[0]
        gamma1 = gammas[:, 0:1]  # (n, 1); slicing 0:1 keeps the column shape
        gamma2 = gammas[:, 1:2]

        # soft number of points in each cluster
        n1 = np.sum(gamma1)
        n2 = np.sum(gamma2)

        # prior: the share of the points that belongs to the cluster
        self.prior1 = n1 / n
        self.prior2 = n2 / n

        # mean: the gamma-weighted average of the points
        self.mu1 = np.sum(gamma1 * X) / (n1 + EPSILON)
        self.mu2 = np.sum(gamma2 * X) / (n2 + EPSILON)

        # variance: the gamma-weighted average squared distance from the NEW mean
        self.variance1 = np.sum(gamma1 * (X - self.mu1) ** 2) / (n1 + EPSILON)
        self.variance2 = np.sum(gamma2 * (X - self.mu2) ** 2) / (n2 + EPSILON)

    def em(self, X):
        """One EM iteration: an E-step, then an M-step with its posteriors."""
        gammas = self.estep(X)
        self.mstep(X, gammas)


def synthetic_data(seed=17, n=40):
    """n points: 40% from N(-2.5, 4), 60% from N(3.5, 4). Returns an (n, 1) column."""
    rng = np.random.RandomState(seed)
    from_cluster1 = rng.rand(n) < 0.4
    means = np.where(from_cluster1, -2.5, 3.5)
    return (means + 2.0 * rng.randn(n)).reshape(-1, 1)


def main(max_iters=200, delta=1e-9):
    X = synthetic_data()
    model = TwoGaussian1DGM(prior1=0.5, mu1=-0.5, variance1=1.0, prior2=0.5, mu2=0.5, variance2=1.0)
    log_likelihoods = [model.log_likelihood(X)]
    print(f"iteration   0: log-likelihood {log_likelihoods[0]:.10f}")
    for iteration in range(1, max_iters + 1):
        model.em(X)
        log_likelihoods.append(model.log_likelihood(X))
        print(f"iteration {iteration:3d}: log-likelihood {log_likelihoods[-1]:.10f}")
        if abs(log_likelihoods[-1] - log_likelihoods[-2]) <= delta:
            break

    print()
    print("final parameters:")
    print(
        f"  cluster 1: prior {model.prior1:.6f}, mean {model.mu1:.6f}, "
        f"variance {model.variance1:.6f}"
    )
    print(
        f"  cluster 2: prior {model.prior2:.6f}, mean {model.mu2:.6f}, "
        f"variance {model.variance2:.6f}"
    )
    print(
        "  (the data came from prior 0.4, mean -2.5, variance 4 "
        "and prior 0.6, mean 3.5, variance 4)"
    )
    print()

    # EM never lowers the log-likelihood; allow only floating-point noise.
    for iteration in range(1, len(log_likelihoods)):
        before, after = log_likelihoods[iteration - 1], log_likelihoods[iteration]
        if after < before - 1e-9 * max(1.0, abs(before)):
            print(
                f"FAIL  the log-likelihood decreased at iteration {iteration}: "
                f"{before:.10f} -> {after:.10f}"
            )
            return 1
    print(
        f"PASS  the log-likelihood never decreased over {len(log_likelihoods) - 1} iterations "
        f"({log_likelihoods[0]:.4f} -> {log_likelihoods[-1]:.4f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
