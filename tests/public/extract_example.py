#!/usr/bin/env python3
"""Writes the README's library example, verbatim, to a C++ source file.

usage: extract_example.py README.md OUTPUT.cpp

The example is the first ```cpp block after the heading '## The library'.
"""
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    lines = open(sys.argv[1], encoding='utf-8').read().split('\n')
    try:
        start = lines.index('## The library')
        begin = lines.index('```cpp', start) + 1
        end = lines.index('```', begin)
    except ValueError:
        sys.exit(f"{sys.argv[1]}: no ```cpp block under '## The library'")
    with open(sys.argv[2], 'w', encoding='utf-8') as out:
        out.write('\n'.join(lines[begin:end]) + '\n')


if __name__ == '__main__':
    main()
