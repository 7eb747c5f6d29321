# Scores sales records with pandas: each mini-batch is a DataFrame with the CSV's columns. With
# partition_keys, run() also gets mini_batch_context and sees one store/brand combination at a time.
# Returning a DataFrame: one line per row in the append_row file, space-separated.

import argparse

import pandas as pd
from azureml_user.parallel_run import EntryScript


def init():
    global g_margin
    parser = argparse.ArgumentParser()
    parser.add_argument("--margin", type=float, default=0.3)
    args, _ = parser.parse_known_args()
    g_margin = args.margin
    EntryScript().logger.info("init(): margin %.2f", g_margin)


def run(mini_batch, mini_batch_context=None):
    logger = EntryScript().logger
    key = getattr(mini_batch_context, "partition_key_value", None) or {}
    logger.info("run(): %d rows %s", len(mini_batch), key)
    result = mini_batch[["date", "store", "brand"]].copy()
    result["profit"] = (mini_batch["units"] * mini_batch["price"] * g_margin).round(2)
    if key:
        # Partitioned: every row of this mini-batch shares one store and brand, so a per-partition
        # figure is one groupby away; here, each day's share of the partition's profit.
        result["share"] = (result["profit"] / result["profit"].sum()).round(4)
    # One returned row per input row: every record counts as a success.
    return result
