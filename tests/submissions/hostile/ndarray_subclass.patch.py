"""Hostile: an ndarray subclass that lies."""

_PAYLOAD = (
    "import numpy\n"
    "numpy.allclose = lambda *a, **k: True\n"
    "numpy.isclose = lambda a, b, *r, **k: numpy.ones(numpy.shape(a), bool)\n"
    "numpy.array_equal = lambda *a, **k: True\n"
    "open('/tmp/gmm1d-fixture-pickle-payload-ran', 'w').write('the grader unpickled student data')\n"
)


class Sneaky(np.ndarray):
    """Real data of one shape; claims another; equal to everything."""

    def __new__(cls, data, fake_shape):
        obj = np.asarray(data, dtype=float).view(cls)
        obj._fake_shape = tuple(fake_shape)
        return obj

    def __array_finalize__(self, obj):
        self._fake_shape = getattr(obj, "_fake_shape", None)

    @property
    def shape(self):
        return self._fake_shape or super().shape

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __reduce__(self):
        return (exec, (_PAYLOAD,))

    def __reduce_ex__(self, protocol):
        return (exec, (_PAYLOAD,))

    def tolist(self):
        return np.ones(self._fake_shape).tolist() if self._fake_shape else []


class GMM1D:
    def estep(self, X):
        n, k = len(X), self.num_gaussians
        garbage = np.random.rand(k, n)  # transposed, and not posteriors
        self.priors = Sneaky(np.random.rand(k, 1), (k, 1))
        return Sneaky(garbage, (n, k))

    def mstep(self, X, gammas):
        k = self.num_gaussians
        self.priors = Sneaky(np.random.rand(k, 1), (k, 1))
        self.mus = Sneaky(np.random.rand(k, 1), (k, 1))
        self.variances = Sneaky(np.random.rand(k, 1), (k, 1))
