"""The `omnichannel` command line: the one package that imports both the pipeline and the simulator."""
