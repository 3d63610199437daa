"""Read the samples of one img2dataset tar shard: list them, then read any one of them.

Our own reading of the tar headers (``tarfile`` for the archives it cannot parse) rather than the
``webdataset`` package: listing the member headers of one shard (a seek per member, no data read) gives every sample's key and offsets, so a stream can read the
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
from typing import BinaryIO, Dict, Iterator, List, NamedTuple, Optional

from ..errors import ShardSampleError
from .layout import IMAGE_EXTENSIONS

BLOCK = tarfile.BLOCKSIZE
LISTING_BUFFER = 1 << 20
ZERO_BLOCK = bytes(BLOCK)


class Member(NamedTuple):
    """A regular file of the tar: where its data start and how long they are."""
    name: str
    offset_data: int
    size: int


class TarSample(NamedTuple):
    key: str
    members: Dict[str, Member]  # extension -> member


class ShardListing(NamedTuple):
    samples: List[TarSample]
    truncated: Optional[str]  # why the listing stopped early (truncated or damaged tar), or None


def split_name(name: str):
    """(key, extension) of a member name: 'dir/000010042.jpg' -> ('dir/000010042', 'jpg')."""
    dot = name.find('.', name.rfind('/') + 1)  # string methods: called for every member of every shard
    return (name, '') if dot < 0 else (name[:dot], name[dot + 1:].lower())


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
        # Listing walks the headers front to back: a large buffer turns the seeks over small members
        # into memory copies. Samples are then read through the other handle, whose small buffer suits
        # the shuffled order.
        with open(self.path, 'rb', buffering=LISTING_BUFFER) as file:
            try:
                members = self._members(file, file_size)
            except _Truncated as stop:
                members, truncated = stop.members, str(stop)
            except (tarfile.TarError, EOFError, OSError) as error:
                members, truncated = [], f'unreadable tar ({error})'
        for member in members:
            key, ext = split_name(member.name)
            if samples and samples[-1].key == key:
                samples[-1].members[ext] = member
            else:
                samples.append(TarSample(key, {ext: member}))
        if truncated and samples:
            samples.pop()  # its later members may be the ones cut off
        return ShardListing(samples, truncated)

    @staticmethod
    def _members(file: BinaryIO, file_size: int) -> List['Member']:
        try:
            return _ustar_members(file, file_size)
        except _NeedsTarfile:
            return list(_tarfile_members(file, file_size))

    def read(self, member: 'Member') -> bytes:
        self._file.seek(member.offset_data)
        data = self._file.read(member.size)
        if len(data) != member.size:
            raise ShardSampleError(f'member {member.name!r} is cut short ({len(data)} of {member.size} bytes)',
                                   self.path)
        return data

    def close(self) -> None:
        self._file.close()


def image_member(sample: TarSample, shard: str) -> 'Member':
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


class _NeedsTarfile(Exception):
    """A header the fast reader does not parse (pax, GNU long names, base-256 sizes)."""


class _Truncated(Exception):
    """The tar ends early; ``members`` are those listed before the cut."""

    def __init__(self, reason: str, members: List[Member]) -> None:
        super().__init__(reason)
        self.members = members


def _ustar_members(file: BinaryIO, file_size: int) -> List[Member]:
    """The regular files of a plain ustar archive, from its 512-byte headers.

    ``tarfile`` spends ~0.1 ms building each TarInfo, a third of a tiny sample's whole cost: a shard
    of 10,000 samples has 30,000 members. img2dataset's (and our) shards use plain ustar headers;
    anything else is handed to ``tarfile`` (``_NeedsTarfile``).
    """
    members: List[Member] = []
    offset = 0
    while True:
        file.seek(offset)
        header = file.read(BLOCK)
        if header == ZERO_BLOCK:
            if file.read(BLOCK) != ZERO_BLOCK:
                raise _Truncated('tar ends without its end-of-archive blocks (truncated copy?)', members)
            return members
        if len(header) < BLOCK:
            raise _Truncated(f'tar ends inside a header at byte {offset} (file of {file_size} bytes)', members)
        if header[257:262] != b'ustar' or header[156:157] in (b'x', b'g', b'L', b'K') or header[124] & 0x80:
            raise _NeedsTarfile()
        # The ustar magic stands for the header checksum, which costs a third of the listing; a damaged
        # header that keeps its magic shows as an unreadable size, name or image instead.
        try:
            size = int(header[124:136].strip(b'\0 ') or b'0', 8)
        except ValueError:
            raise tarfile.ReadError(f'damaged header at byte {offset}') from None
        if header[156:157] in (tarfile.REGTYPE, tarfile.AREGTYPE):
            name = header[0:100].split(b'\0', 1)[0]
            prefix = header[345:500].split(b'\0', 1)[0]
            name = (prefix + b'/' + name if prefix else name).decode('utf-8', 'surrogateescape')
            if offset + BLOCK + size > file_size:
                raise _Truncated(f'tar ends inside member {name!r} (file of {file_size} bytes)', members)
            members.append(Member(name, offset + BLOCK, size))
        offset += BLOCK + -(-size // BLOCK) * BLOCK


def _tarfile_members(file: BinaryIO, file_size: int) -> Iterator[Member]:
    """The general path, for archives with pax or GNU headers."""
    file.seek(0)
    tar = tarfile.open(fileobj=file, mode='r:')
    members: List[Member] = []
    for info in iter(tar.next, None):
        if not info.isfile():
            continue
        if info.offset_data + info.size > file_size:
            raise _Truncated(f'tar ends inside member {info.name!r} (file of {file_size} bytes)', members)
        members.append(Member(info.name, info.offset_data, info.size))
        yield members[-1]
    end = 0 if not members else members[-1].offset_data + -(-members[-1].size // BLOCK) * BLOCK
    file.seek(end)
    if file.read(2 * BLOCK) != bytes(2 * BLOCK):
        raise _Truncated('tar ends without its end-of-archive blocks (truncated copy?)', members)
