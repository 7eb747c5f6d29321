"""Makes the digits example's data and model (not committed: run this once first).

    /usr/bin/python3 examples/digits/prepare.py

- data/images/batchN/digit_NNNN.png: scikit-learn's bundled 8x8 digits, as greyscale PNGs: the
  half of the 1,797 images the model did not see;
- data/labels.csv: the true label of each PNG (a side input the entry script checks against);
- models/digits.pkl: a support-vector classifier trained on the other half.
"""

import os
import pickle

import numpy as np
from PIL import Image
from sklearn import datasets, svm
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    digits = datasets.load_digits()
    x_train, x_test, y_train, y_test, _, idx_test = train_test_split(
        digits.data, digits.target, np.arange(len(digits.target)), test_size=0.5, random_state=0
    )
    model = svm.SVC(gamma=0.001).fit(x_train, y_train)
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    with open(os.path.join(HERE, "models", "digits.pkl"), "wb") as f:
        pickle.dump(model, f)

    images = os.path.join(HERE, "data", "images")
    rows = ["file,label"]
    for n, (pixels, label, i) in enumerate(zip(x_test, y_test, idx_test)):
        folder = os.path.join(images, "batch%d" % (n % 4))
        os.makedirs(folder, exist_ok=True)
        # 0..16 intensities -> 0..255 greyscale, 8x8 as in the dataset.
        img = Image.fromarray((pixels.reshape(8, 8) * 255.0 / 16.0).round().astype(np.uint8), mode="L")
        name = "digit_%04d.png" % i
        img.save(os.path.join(folder, name))
        rows.append("%s,%d" % (name, label))
    with open(os.path.join(HERE, "data", "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    print(
        "wrote %d PNGs under data/images, their labels to data/labels.csv, the model to models/digits.pkl "
        "(held-out accuracy %.3f)" % (len(y_test), model.score(x_test, y_test))
    )


if __name__ == "__main__":
    main()
