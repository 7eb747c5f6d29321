"""The pipeline's command node: scikit-learn's bundled 8x8 digits, half of them as greyscale PNGs
(--images, at most --count), a support-vector classifier trained on the other half (--model)."""

import argparse
import os
import pickle

import numpy as np
from PIL import Image
from sklearn import datasets, svm
from sklearn.model_selection import train_test_split

parser = argparse.ArgumentParser()
parser.add_argument("--images", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--count", type=int, default=None)
args = parser.parse_args()

digits = datasets.load_digits()
x_train, x_test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.5, random_state=0)
model = svm.SVC(gamma=0.001).fit(x_train, y_train)
with open(os.path.join(args.model, "digits.pkl"), "wb") as f:
    pickle.dump(model, f)

count = len(x_test) if args.count is None else min(args.count, len(x_test))
for n in range(count):
    # 0..16 intensities -> 0..255 greyscale; the true label is in the file name, to check against.
    img = Image.fromarray((x_test[n].reshape(8, 8) * 255.0 / 16.0).round().astype(np.uint8), mode="L")
    img.save(os.path.join(args.images, "digit_%04d_label%d.png" % (n, y_test[n])))
print("wrote %d PNGs to %s and the model to %s" % (count, args.images, args.model))
