"""Reads every scalar under a folder of TensorBoard event files with TensorBoard's own reader
and prints {tag: [[step, value], ...]} as JSON, for the Swift tests to compare."""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
accumulator.Reload()
scalars = {tag: [[e.step, e.value] for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
print(json.dumps(scalars, sort_keys=True))
