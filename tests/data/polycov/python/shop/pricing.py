def discount(total, code=None):
    if code == "HALF":
        return total / 2
    if code == "TEN" and total > 100:
        return total - 10
    return total


def tax(amount, rate=0.2):
    if amount < 0:
        raise ValueError("negative amount")
    return round(amount * rate, 2)


def never_called():
    x = 1
    return x + 1
