import os


def modeling():
    print(os.getcwd())
