# Copyright (c) mmselfemd contributors. All rights reserved.
"""Every relative Markdown link in the docs resolves.

Checked: README.md, docs/**/*.md, configs/**/*.md and projects/**/*.md.
A relative link (``[text](path)``, ``![alt](path)`` or a reference
definition ``[name]: path``) must name a file or folder inside the
repository, and its ``#anchor``, when the target is a Markdown page, must
be one of that page's headings as GitHub slugs them. Links with a scheme
(``https:``, ``mailto:``) and links inside code are not checked.
"""
import glob
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PATTERNS = ('README.md', 'docs/**/*.md', 'configs/**/*.md',
            'projects/**/*.md')

FENCE = re.compile(r'^ {0,3}(```|~~~)')
INLINE_CODE = re.compile(r'(`+)(?:(?!\1).)+?\1')
INLINE_LINK = re.compile(
    r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$')
HEADING = re.compile(r'^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$')
HTML_ANCHOR = re.compile(r'<a\s+(?:name|id)="([^"]+)"')
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def doc_files() -> list:
    """The Markdown files whose links are checked, relative to the repo."""
    files = set()
    for pattern in PATTERNS:
        files.update(
            osp.relpath(p, REPO)
            for p in glob.glob(osp.join(REPO, pattern), recursive=True))
    return sorted(files)


def lines_outside_fences(text: str) -> list:
    """``(line number, line)`` of the lines outside fenced code blocks."""
    lines, fence = [], None
    for lineno, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if match and fence is None:
            fence = match.group(1)
        elif match and line.strip().startswith(fence):
            fence = None
        elif fence is None:
            lines.append((lineno, line))
    return lines


def prose_lines(text: str) -> list:
    """The lines outside fenced code blocks, inline code spans removed."""
    return [(lineno, INLINE_CODE.sub('', line))
            for lineno, line in lines_outside_fences(text)]


def links(text: str) -> list:
    """``(line number, target)`` of every link outside code."""
    found = []
    for lineno, line in prose_lines(text):
        found += [(lineno, t) for t in INLINE_LINK.findall(line)]
        ref = REFERENCE.match(line)
        if ref:
            found.append((lineno, ref.group(1)))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: the rendered text lowercased,
    without punctuation other than ``-`` and ``_``, spaces made hyphens."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading).replace('`', '')
    kept = ''.join(ch for ch in text.lower()
                   if ch.isalnum() or ch in ' -_')
    return kept.replace(' ', '-')


def anchors(text: str) -> set:
    """The anchors of a Markdown page: its headings' slugs (a repeated
    slug gets ``-1``, ``-2``, ... as on GitHub) and HTML anchors."""
    found, counts = set(), {}
    for _, line in lines_outside_fences(text):
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            n = counts.get(base, 0)
            counts[base] = n + 1
            found.add(base if n == 0 else f'{base}-{n}')
    return found


def broken_links(path: str, root: str = REPO) -> list:
    """Each relative link of the file at ``path`` (relative to ``root``)
    that does not resolve, as ``'path:line: target (why)'``."""
    with open(osp.join(root, path), encoding='utf-8') as f:
        text = f.read()
    broken = []
    for lineno, target in links(text):
        if SCHEME.match(target):
            continue
        name, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(path), name)) if name \
            else path
        why = None
        if dest.startswith('..') or osp.isabs(dest):
            why = 'outside the repository'
        elif not osp.exists(osp.join(root, dest)):
            why = 'no such file'
        elif anchor and dest.endswith('.md'):
            with open(osp.join(root, dest), encoding='utf-8') as f:
                if anchor not in anchors(f.read()):
                    why = f'no heading #{anchor} in {dest}'
        if why:
            broken.append(f'{path}:{lineno}: {target} ({why})')
    return broken


def test_parser_finds_links_outside_code():
    text = ('See [a](user_guides/a.md#x-y), ![p](img/p.png "t") and\n'
            '`[not](code.md)` or <https://x>.\n'
            '```bash\n[nor](this.md)\n```\n'
            '[ref]: ../notes/b.md\n')
    assert links(text) == [(1, 'user_guides/a.md#x-y'), (1, 'img/p.png'),
                           (6, '../notes/b.md')]


def test_slug_follows_github():
    assert slug('GPU (`tools/analysis_tools/gpu_check.py`)') == \
        'gpu-toolsanalysis_toolsgpu_checkpy'
    assert slug('Checkpoints and torch ≥ 2.6') == 'checkpoints-and-torch--26'
    assert slug('PASCAL VOC: VOC07+12 → VOC07 test') == \
        'pascal-voc-voc0712--voc07-test'
    assert anchors('# A\n## A\n```\n# B\n```\n## Options (`x=`)\n') == {
        'a', 'a-1', 'options-x'}


def test_broken_links_are_reported(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'b.md').write_text('# Real heading\n')
    (tmp_path / 'docs' / 'a.md').write_text(
        '[ok](b.md#real-heading) [gone](c.md) [anchor](b.md#nope)\n'
        '[out](../../elsewhere.md) [web](https://example.com/c.md)\n')
    assert broken_links('docs/a.md', str(tmp_path)) == [
        'docs/a.md:1: c.md (no such file)',
        'docs/a.md:1: b.md#nope (no heading #nope in docs/b.md)',
        'docs/a.md:2: ../../elsewhere.md (outside the repository)',
    ]


def test_docs_are_found():
    files = doc_files()
    assert 'README.md' in files
    assert 'docs/en/index.md' in files
    assert any(f.startswith('projects/') for f in files)


@pytest.mark.parametrize('path', doc_files())
def test_relative_links_resolve(path):
    broken = broken_links(path)
    assert not broken, 'links that do not resolve:\n' + '\n'.join(broken)
