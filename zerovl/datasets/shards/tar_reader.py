"""Read the samples of one img2dataset tar shard: list them, then read any one of them.

Plain ``tarfile`` rather than the ``webdataset`` package: listing the member headers of one shard
(a seek per member, no data read) gives every sample's key and offsets, so a stream can read the
shard's samples in a seeded random order and resume at an exact sample of an exact shard, which the
iterator pipelines of ``webdataset`` (shuffle buffers whose contents live in closures) cannot say. Its
other strengths (URLs, brace expansion, pipes) are not needed for local or mounted shard folders.

Members are grouped into samples webdataset's way: the key is the member name up to the first dot of
its base name, the extension the rest; consecutive members with the same key form one sample.
"""
import json
import os
import os.path as osp
import tarfile
from typing import BinaryIO, Dict, List, NamedTuple, Optional

from ..errors import ShardSampleError
from .layout import IMAGE_EXTENSIONS


class TarSample(NamedTuple):
    key: str
    members: Dict[str, tarfile.TarInfo]  # extension -> member


class ShardListing(NamedTuple):
    samples: List[TarSample]
    truncated: Optional[str]  # why the listing stopped early (truncated or damaged tar), or None


def split_name(name: str):
    """(key, extension) of a member name: 'dir/000010042.jpg' -> ('dir/000010042', 'jpg')."""
    folder, base = osp.split(name)
    stem, _, ext = base.partition('.')
    return osp.join(folder, stem) if folder else stem, ext.lower()


class TarShard:
    """An open shard: its samples, listed once, and their contents read on demand.

    Raises ``FileNotFoundError`` when the file is missing. A tar that ends early (a truncated copy)
    keeps the samples whose members are complete and says why in ``listing.truncated``.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: BinaryIO = open(path, 'rb')
        try:
            self.listing = self._list(os.fstat(self._file.fileno()).st_size)
        except BaseException:
            self._file.close()
            raise

    def _list(self, file_size: int) -> ShardListing:
        samples: List[TarSample] = []
        truncated = None
        try:
            tar = tarfile.open(fileobj=self._file, mode='r:')
            while True:
                member = tar.next()
                if member is None:
                    break
                if not member.isfile():
                    continue
                if member.offset_data + member.size > file_size:
                    truncated = f'tar ends inside member {member.name!r} (file of {file_size} bytes)'
                    break
                key, ext = split_name(member.name)
                if samples and samples[-1].key == key:
                    samples[-1].members[ext] = member
                else:
                    samples.append(TarSample(key, {ext: member}))
        except (tarfile.TarError, EOFError, OSError) as error:
            truncated = f'unreadable tar after {len(samples)} samples ({error})'
        if truncated is None:
            truncated = self._check_end(samples)
        if truncated and samples:
            samples.pop()  # its later members may be the ones cut off
        return ShardListing(samples, truncated)

    def _check_end(self, samples: List[TarSample]) -> Optional[str]:
        """A complete tar ends with two zero blocks after its last member; ``tarfile`` silently stops
        at a header cut short, so a copy truncated between members would otherwise pass as whole."""
        last = max((member for sample in samples for member in sample.members.values()),
                   key=lambda member: member.offset_data, default=None)
        end = 0 if last is None else last.offset_data + -(-last.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
        self._file.seek(end)
        if self._file.read(2 * tarfile.BLOCKSIZE) != bytes(2 * tarfile.BLOCKSIZE):
            name = 'the start' if last is None else f'member {last.name!r}'
            return f'tar ends without its end-of-archive blocks after {name} (truncated copy?)'
        return None

    def read(self, member: tarfile.TarInfo) -> bytes:
        self._file.seek(member.offset_data)
        data = self._file.read(member.size)
        if len(data) != member.size:
            raise ShardSampleError(f'member {member.name!r} is cut short ({len(data)} of {member.size} bytes)',
                                   self.path)
        return data

    def close(self) -> None:
        self._file.close()


def image_member(sample: TarSample, shard: str) -> tarfile.TarInfo:
    for ext in IMAGE_EXTENSIONS:
        if ext in sample.members:
            return sample.members[ext]
    raise ShardSampleError(f'no image member (.{"/.".join(IMAGE_EXTENSIONS)}); members: '
                           f'{sorted(sample.members)}', shard, sample.key)


def read_caption(shard: TarShard, sample: TarSample, caption_key: Optional[str]) -> str:
    """The caption from ``{key}.txt`` (``caption_key=None``) or from that key of ``{key}.json``;
    an absent, undecodable or blank caption is a ``ShardSampleError``."""
    ext = 'txt' if caption_key is None else 'json'
    member = sample.members.get(ext)
    if member is None:
        raise ShardSampleError(f'no caption: the sample has no .{ext} member', shard.path, sample.key)
    try:
        text = shard.read(member).decode('utf-8')
        if caption_key is not None:
            text = json.loads(text).get(caption_key)
    except (UnicodeDecodeError, ValueError, AttributeError) as error:
        raise ShardSampleError(f'caption .{ext} cannot be read ({error})', shard.path, sample.key) from None
    if not isinstance(text, str) or not text.strip():
        where = f'.{ext}' if caption_key is None else f'.json key {caption_key!r}'
        raise ShardSampleError(f'no caption: {where} is empty or missing', shard.path, sample.key)
    return text.strip()
