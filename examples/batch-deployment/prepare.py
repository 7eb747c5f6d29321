"""Makes the batch deployment example's model and data (not committed: run this once first).

    /usr/bin/python3 examples/batch-deployment/prepare.py

- model/: a scikit-learn classifier of iris flowers in MLflow's format (MLmodel, model.pkl), as
  mlflow.sklearn.save_model writes it, with the signature Azure ML's generated scoring enforces;
- data/iris-N.csv: three files of unlabeled flowers to score (the classifier saw other ones).
"""

import json
import os
import pickle

import sklearn
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def main():
    iris = datasets.load_iris(as_frame=True)
    x = iris.data.set_axis(COLUMNS, axis=1)
    x_train, x_test, y_train, _ = train_test_split(x, iris.target, test_size=0.2, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)

    folder = os.path.join(HERE, "model")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.pkl"), "wb") as f:
        pickle.dump(model, f)
    signature = json.dumps([{"name": c, "type": "double"} for c in COLUMNS])
    with open(os.path.join(folder, "MLmodel"), "w") as f:
        f.write(
            "artifact_path: model\n"
            "flavors:\n"
            "  python_function:\n"
            "    loader_module: mlflow.sklearn\n"
            "    model_path: model.pkl\n"
            "  sklearn:\n"
            "    pickled_model: model.pkl\n"
            "    serialization_format: pickle\n"
            "    sklearn_version: %s\n"
            "signature:\n"
            "  inputs: '%s'\n"
            "  outputs: '[{\"type\": \"long\"}]'\n" % (sklearn.__version__, signature)
        )

    data = os.path.join(HERE, "data")
    os.makedirs(data, exist_ok=True)
    for i, part in enumerate((x_test[:10], x_test[10:20], x_test[20:])):
        part.to_csv(os.path.join(data, "iris-%d.csv" % i), index=False)
    print("wrote the model to model/ and %d flowers to data/iris-0..2.csv" % len(x_test))


if __name__ == "__main__":
    main()
