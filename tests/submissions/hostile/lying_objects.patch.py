"""Hostile: objects that lie about what they are."""


class Liar:
    """Claims to be whatever the caller hopes; holds nothing."""

    def __init__(self, shape):
        self._shape = tuple(shape)

    shape = property(lambda self: self._shape)
    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: int(np.prod(self._shape)))
    dtype = np.dtype(float)
    __array_priority__ = 1e9

    def __array__(self, dtype=None, copy=None):
        return np.random.rand(*self._shape) * 1e3 - 500.0

    def tolist(self):
        return self.__array__().tolist()

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __le__ = __ge__ = __eq__
    __lt__ = __gt__ = __ne__
    __hash__ = object.__hash__

    def __len__(self):
        return self._shape[0]

    def __float__(self):
        return float(np.random.rand())

    def __bool__(self):
        return True

    def __getitem__(self, index):
        return self

    def __iter__(self):
        return iter([self] * self._shape[0])

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __getattr__(self, name):
        return lambda *a, **k: self

    def __reduce__(self):
        return (Liar, (self._shape,))


class GMM1D:
    def estep(self, X):
        k = self.num_gaussians
        self.priors = Liar((k, 1))
        self.mus = Liar((k, 1))
        self.variances = Liar((k, 1))
        return Liar((len(X), k))

    def mstep(self, X, gammas):
        k = self.num_gaussians
        self.priors = Liar((k, 1))
        self.mus = Liar((k, 1))
        self.variances = Liar((k, 1))
