"""The learning tasks nnctl knows, declared once for the config, the data and the models.

A task decides the target's form and the model's head: regression (real targets, any number of
columns), binary (two classes, one logit) and multiclass (k >= 2 classes, k logits). A config
may also say `auto`: the data loader infers the task from the target.
"""

TASKS = ("regression", "binary", "multiclass")
