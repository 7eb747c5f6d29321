# Classifies handwritten digits, in the style of Azure ML's parallel-run sample
# digit_identification.py: the model comes from Model.get_model_path, each mini-batch is a list of
# PNG paths, and each result line is "<file>: <digit>". Runs unchanged on ParallelRunStep.

import argparse
import csv
import os
import pickle

import numpy as np
from PIL import Image
from azureml.core import Model
from azureml_user.parallel_run import EntryScript


def init():
    global g_model, g_labels

    logger = EntryScript().logger
    parser = argparse.ArgumentParser()
    parser.add_argument("--labels", dest="labels", default=None)
    args, _ = parser.parse_known_args()

    # pull down model from workspace (here: the job spec's `models` map)
    model_path = Model.get_model_path("digits")
    with open(model_path, "rb") as f:
        g_model = pickle.load(f)
    logger.info("init(): loaded %s", model_path)

    g_labels = {}
    if args.labels:
        with open(args.labels) as f:
            g_labels = {row["file"]: int(row["label"]) for row in csv.DictReader(f)}
        logger.info("init(): %d known labels for checking", len(g_labels))


def run(mini_batch):
    logger = EntryScript().logger
    print(f"run method start: {__file__}, run({len(mini_batch)} files)")
    resultList = []
    wrong = 0
    for image in mini_batch:
        # prepare each image: 8x8 greyscale -> the 0..16 intensities the model was trained on
        data = Image.open(image)
        np_im = np.array(data, dtype=np.float64).reshape((1, 64)) * 16.0 / 255.0
        # perform inference
        best_result = int(g_model.predict(np_im)[0])
        name = os.path.basename(image)
        if name in g_labels and g_labels[name] != best_result:
            wrong += 1
            logger.warning("%s: predicted %d, labelled %d", name, best_result, g_labels[name])
        resultList.append("{}: {}".format(name, best_result))
    logger.info("classified %d images, %d disagree with their label", len(mini_batch), wrong)
    return resultList
