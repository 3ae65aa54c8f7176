"""Hostile: imports a module nobody has."""

import gmm_helpers_nowhere_3f9a  # noqa


class GMM1D:
    def estep(self, X):
        raise NotImplementedError("GMM1D.estep is not written yet")

    def mstep(self, X, gammas):
        raise NotImplementedError("GMM1D.mstep is not written yet")
