"""A hostile upload: it never finishes importing. The grader's start-up timeout must stop it,
and the batch must carry on grading everyone else."""

while True:
    pass
