class Gmm:
    pass


class Helper:
    pass


GMM1d = 3
