# A scoring script as written for an Azure ML batch endpoint: the model lies in a folder of
# AZUREML_MODEL_DIR, and files written to AZUREML_BI_OUTPUT_PATH are outputs of the job.

import glob
import os
import pickle
from pathlib import Path

import pandas as pd

SPECIES = ["setosa", "versicolor", "virginica"]


def init():
    global model, output_path
    output_path = os.environ["AZUREML_BI_OUTPUT_PATH"]
    model_file = glob.glob(os.path.join(os.environ["AZUREML_MODEL_DIR"], "*", "model.pkl"))[0]
    with open(model_file, "rb") as f:
        model = pickle.load(f)


def run(mini_batch):
    results = []
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        data["species"] = [SPECIES[p] for p in model.predict(data)]
        # One scored copy of each file beside predictions.csv.
        data.to_csv(os.path.join(output_path, Path(file_path).stem + "-scored.csv"), index=False)
        counts = data["species"].value_counts()
        results.append(
            "%s %s" % (os.path.basename(file_path), " ".join("%s=%d" % (s, counts.get(s, 0)) for s in SPECIES))
        )
    return results
