# The pipeline's parallel node: each mini-batch is a list of PNG paths; each result line is
# "<file>,<predicted digit>,<true digit from the file name>".

import argparse
import os
import pickle
import re

import numpy as np
from PIL import Image


def init():
    global g_model
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    args, _ = parser.parse_known_args()
    with open(os.path.join(args.model, "digits.pkl"), "rb") as f:
        g_model = pickle.load(f)


def run(mini_batch):
    rows = []
    for image in mini_batch:
        pixels = np.array(Image.open(image), dtype=np.float64).reshape((1, 64)) * 16.0 / 255.0
        name = os.path.basename(image)
        label = re.search(r"label(\d)", name)
        rows.append("%s,%d,%s" % (name, int(g_model.predict(pixels)[0]), label.group(1) if label else ""))
    return rows
