# Copyright (c) mmselfemd contributors. All rights reserved.
"""``python -m mmselfemd.utils.collect_env``: print the environment."""
from mmselfemd.utils.collect_env import collect_env


def main() -> None:
    """Print the report, one ``name: value`` line per entry."""
    for name, value in collect_env().items():
        print(f'{name}: {value}')


if __name__ == '__main__':
    main()
