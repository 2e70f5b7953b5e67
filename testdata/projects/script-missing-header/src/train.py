from modeling import modeling


def train():
    modeling()


if __name__ == "__main__":
    train()
