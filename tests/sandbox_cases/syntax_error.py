import numpy as np

def estep(self X):
    return X
