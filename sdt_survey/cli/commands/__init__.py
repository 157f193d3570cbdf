"""One module per group of commands; ``sdt_survey.cli.group.COMMANDS`` imports each on use."""
