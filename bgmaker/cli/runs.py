"""List the named training runs: config, data selection and where they live."""


def add_arguments(parser):
    pass


def main(args):
    from bgmaker_configs.runs import RUNS
    for run in RUNS.values():
        print(f"{run.name:14s} {run.config:22s} {run.description}")
        print(f"{'':14s} select={run.select} hparams={run.hparams or '{}'}")
        print(f"{'':14s} data={run.examples_path('train').parent} run_dir={run.run_dir}")
    return 0
