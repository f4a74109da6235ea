"""The UCI Census-Income (KDD) data set: a checked loader and the paper's two task groups.

The files are never part of this repository. :func:`load_census_income` reads them from the
first of ``data_dir``, ``$MMOE_LAB_DATA_DIR`` or a cache folder (``~/.cache/mmoe_lab``, or
``$XDG_CACHE_HOME/mmoe_lab``) and verifies their schema. When that folder holds neither file it
downloads the official UCI archive into it on first use, with a progress bar, and says so (like
scikit-learn's ``fetch_*`` loaders and ``keras.datasets``); ``download=False`` forbids that.

Tasks (Ma et al., KDD 2018, §6.3):

* group 1: ``income`` (income > 50K) and ``marital`` (never married);
* group 2: ``education`` (at least a college degree) and ``marital``.

The label columns of a group, the data set's own target (``income``) and the survey's
``instance_weight`` are removed from that group's inputs.

This module needs only numpy and pandas (no TensorFlow).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from . import paper
from ._validate import check_bool, check_choice, check_columns, check_number
from .io import wrap_text

__all__ = [
    "CENSUS_COLUMNS",
    "CENSUS_FILES",
    "CENSUS_URL",
    "CATEGORICAL_COLUMNS",
    "NUMERIC_COLUMNS",
    "COLLEGE_DEGREES",
    "CensusData",
    "CensusDataError",
    "default_cache_dir",
    "read_census_file",
    "load_census_income",
    "census_labels",
    "census_tasks",
    "census_label_pearson",
]

#: The 42 fields of every row, in file order (snake_case of the data set's documentation).
CENSUS_COLUMNS: tuple[str, ...] = (
    "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode",
    "education", "wage_per_hour", "enroll_in_edu_inst_last_wk", "marital_stat",
    "major_industry_code", "major_occupation_code", "race", "hispanic_origin", "sex",
    "member_of_a_labor_union", "reason_for_unemployment", "full_or_part_time_employment_stat",
    "capital_gains", "capital_losses", "dividends_from_stocks", "tax_filer_stat",
    "region_of_previous_residence", "state_of_previous_residence",
    "detailed_household_and_family_stat", "detailed_household_summary_in_household",
    "instance_weight", "migration_code_change_in_msa", "migration_code_change_in_reg",
    "migration_code_move_within_reg", "live_in_this_house_1_year_ago",
    "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer",
    "family_members_under_18", "country_of_birth_father", "country_of_birth_mother",
    "country_of_birth_self", "citizenship", "own_business_or_self_employed",
    "fill_inc_questionnaire_for_veterans_admin", "veterans_benefits", "weeks_worked_in_year",
    "year", "income",
)

#: Continuous fields. Integer-coded fields (industry/occupation recodes, ``year``,
#: ``own_business_or_self_employed``, ``veterans_benefits``) are categories, not quantities.
NUMERIC_COLUMNS: tuple[str, ...] = (
    "age", "wage_per_hour", "capital_gains", "capital_losses", "dividends_from_stocks",
    "num_persons_worked_for_employer", "weeks_worked_in_year",
)
#: Every other field except ``instance_weight`` (a survey weight) and ``income`` (the target).
CATEGORICAL_COLUMNS: tuple[str, ...] = tuple(
    c for c in CENSUS_COLUMNS if c not in NUMERIC_COLUMNS and c not in ("instance_weight", "income")
)

#: file name and expected row count of each split.
CENSUS_FILES: dict[str, tuple[str, int]] = {
    "train": ("census-income.data.gz", 199_523),
    "test": ("census-income.test.gz", 99_762),
}
#: The official UCI archive (a zip holding ``census.tar.gz`` with both splits).
CENSUS_URL = "https://archive.ics.uci.edu/static/public/117/census+income+kdd.zip"
CENSUS_PAGE = "https://archive.ics.uci.edu/dataset/117/census+income+kdd"

_LABEL_VALUES = ("- 50000.", "50000+.")
_INT_COLUMNS = tuple(
    c for c in CENSUS_COLUMNS
    if c in NUMERIC_COLUMNS or c in (
        "detailed_industry_recode", "detailed_occupation_recode", "own_business_or_self_employed",
        "veterans_benefits", "year",
    )
)

#: Education values that count as "at least college" (a college degree: associate's or higher).
#: "Some college but no degree" is excluded; with it the group-2 |Pearson| on the test split is
#: 0.281 instead of 0.238 (the paper reports 0.2373).
COLLEGE_DEGREES: tuple[str, ...] = (
    "Associates degree-occup /vocational", "Associates degree-academic program",
    "Bachelors degree(BA AB BS)", "Masters degree(MA MS MEng MEd MSW MBA)",
    "Prof school degree (MD DDS DVM LLB JD)", "Doctorate degree(PhD EdD)",
)

#: The raw column each task label is derived from (removed from that group's inputs).
_LABEL_SOURCE = {"income": "income", "marital": "marital_stat", "education": "education"}

_HOW_TO_GET = (
    f"To get the files: `load_census_income(download=True)` fetches {CENSUS_URL} (it needs a network "
    f"connection), or download them from {CENSUS_PAGE} and point `data_dir` or the MMOE_LAB_DATA_DIR "
    f"environment variable at the folder."
)


class CensusDataError(ValueError):
    """A census-income file exists but is truncated, corrupt or has the wrong schema."""


@dataclass(frozen=True)
class CensusData:
    """What :func:`load_census_income` returns.

    Attributes:
        train, test: DataFrames with the 42 columns of :data:`CENSUS_COLUMNS` (strings for
            categories, ``int64``/``float64`` for numbers, leading spaces stripped).
        source: ``"full"`` (the official 199,523 / 99,762 split) or ``"test_only"`` (only
            ``census-income.test.gz`` was found and was split here).
        split_note: one sentence saying where train and test came from (no machine paths).

    :attr:`summary` is ``source`` and ``split_note`` as lines to print (at most 100 characters).
    """

    train: pd.DataFrame
    test: pd.DataFrame
    source: Literal["full", "test_only"]
    split_note: str

    def __repr__(self) -> str:
        return (f"CensusData(source={self.source!r}, train={len(self.train):,} rows, "
                f"test={len(self.test):,} rows)")

    @property
    def summary(self) -> str:
        """``"SOURCE · SPLIT_NOTE"``, wrapped at 100 characters (:func:`mmoe_lab.io.wrap_text`)."""
        return wrap_text(f"{self.source} · {self.split_note}")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mmoe_lab`` if set, else ``~/.cache/mmoe_lab``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mmoe_lab"


def _resolve_dir(data_dir: str | os.PathLike | None) -> tuple[Path, str]:
    """The folder to read, and how it was chosen (for error messages)."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "the `data_dir` argument"
    env = os.environ.get("MMOE_LAB_DATA_DIR")
    if env:
        return Path(env).expanduser(), "$MMOE_LAB_DATA_DIR"
    return default_cache_dir(), "the cache folder"


# ---------------------------------------------------------------------------- reading
def read_census_file(path: str | os.PathLike, expected_rows: int | None = None) -> pd.DataFrame:
    """Read and verify one census-income file (gzip-compressed, 42 comma-separated fields).

    Args:
        path: a ``census-income.{data,test}.gz`` file.
        expected_rows: the exact row count to require (None: any positive count).

    Returns:
        a DataFrame ``(rows, 42)`` with columns :data:`CENSUS_COLUMNS`.

    Raises:
        FileNotFoundError: the file does not exist.
        CensusDataError: the gzip stream is truncated or corrupt, the file is empty, a row does
            not have 42 fields, a number does not parse, a label is not ``- 50000.`` /
            ``50000+.``, or the row count differs from ``expected_rows``.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no such file in {path.parent}. {_HOW_TO_GET}")

    def fail(what: str) -> CensusDataError:
        return CensusDataError(
            f"{name} (in {path.parent}) {what}. Delete it and get a fresh copy. {_HOW_TO_GET}"
        )

    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise fail(f"is not a complete gzip file ({type(exc).__name__}: {exc}); expected a "
                   f"gzip-compressed text file") from None
    # Work on bytes with numpy: one pass, no Python loop over 300k lines.
    if b"\r" in raw[:10_000]:
        raw = raw.replace(b"\r\n", b"\n")
    raw = raw.rstrip(b" \n")
    if not raw:
        raise fail(f"is empty; expected {f'{expected_rows:,}' if expected_rows else 'some'} rows of "
                   f"{len(CENSUS_COLUMNS)} fields")
    buf = np.frombuffer(raw, dtype=np.uint8)
    line_ends = np.append(np.flatnonzero(buf == ord("\n")), buf.size)
    commas = np.flatnonzero(buf == ord(","))
    counts = np.diff(np.searchsorted(commas, line_ends), prepend=0) + 1
    n_fields = len(CENSUS_COLUMNS)
    bad = np.flatnonzero(counts != n_fields)
    if bad.size:
        i = int(bad[0])
        raise fail(f"has rows with the wrong number of fields: expected {n_fields} comma-separated "
                   f"fields per row, line {i + 1} has {counts[i]} ({bad.size:,} bad rows in all)")
    if expected_rows is not None and line_ends.size != expected_rows:
        raise fail(f"has {line_ends.size:,} rows; expected {expected_rows:,} (truncated or not the "
                   f"official file?)")
    # Values are padded with one leading space (skipinitialspace) and a few carry a trailing one.
    raw = raw.replace(b" ,", b",")
    numeric = (*_INT_COLUMNS, "instance_weight")
    try:
        df = pd.read_csv(
            io.BytesIO(raw), header=None, names=list(CENSUS_COLUMNS), skipinitialspace=True,
            na_filter=False, encoding="latin-1",
            dtype={c: str for c in CENSUS_COLUMNS if c not in numeric},
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise fail(f"could not be parsed as CSV ({exc})") from None
    for col in numeric:
        if not pd.api.types.is_numeric_dtype(df[col]):
            values = pd.to_numeric(df[col], errors="coerce")
            i = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise fail(f"has a non-numeric value {df[col].iloc[i]!r} in column {col!r} on line {i + 1}; "
                       f"expected a number")
        df[col] = df[col].astype("int64" if col in _INT_COLUMNS else "float64")
    odd = ~df["income"].isin(_LABEL_VALUES)
    if odd.any():
        i = int(np.flatnonzero(odd.to_numpy())[0])
        raise fail(f"has label {df['income'].iloc[i]!r} on line {i + 1}; expected one of {_LABEL_VALUES}")
    return df


# ---------------------------------------------------------------------------- download
def _extract_census_files(archive: Path, target: Path) -> list[str]:
    """Find ``census-income.{data,test}[.gz]`` anywhere inside a zip/tar (nested archives too)
    and write them gzip-compressed into ``target``. Returns the file names written."""
    wanted = {"census-income.data": CENSUS_FILES["train"][0], "census-income.test": CENSUS_FILES["test"][0]}
    written: list[str] = []

    def handle(member_name: str, data: bytes) -> None:
        base = Path(member_name).name
        if base.endswith(".gz") and base[:-3] in wanted:
            data = gzip.decompress(data)
            base = base[:-3]
        if base in wanted:
            out = target / wanted[base]
            tmp = out.with_suffix(".partial")
            with gzip.open(tmp, "wb") as fh:
                fh.write(data)
            tmp.replace(out)
            written.append(out.name)
        elif base.endswith((".tar.gz", ".tgz", ".tar", ".zip")):
            walk(io.BytesIO(data))

    def walk(fileobj) -> None:
        fileobj.seek(0)
        if zipfile.is_zipfile(fileobj):
            fileobj.seek(0)
            with zipfile.ZipFile(fileobj) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        handle(info.filename, zf.read(info))
            return
        fileobj.seek(0)
        with tarfile.open(fileobj=fileobj, mode="r:*") as tf:
            for member in tf.getmembers():
                extracted = tf.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    handle(member.name, extracted.read())

    with open(archive, "rb") as fh:
        walk(io.BytesIO(fh.read()))
    return sorted(set(written))


def _shown(folder: Path) -> str:
    """``folder`` as a message shows it: under the home directory as ``~/...``."""
    try:
        return str(Path("~") / folder.expanduser().resolve().relative_to(Path.home().resolve()))
    except ValueError:
        return str(folder)


def _fetch_with_progress(url: str, dest: Path) -> None:
    """Stream ``url`` into ``dest`` with a progress bar (a widget in a notebook, text elsewhere).

    Raises ``OSError`` (``urllib.error.URLError`` is one) when the server cannot be reached or
    answers with an HTTP error.
    """
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with open(dest, "wb") as fh, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                          desc="Census-Income (KDD) archive") as bar:
            while chunk := response.read(1 << 16):
                fh.write(chunk)
                bar.update(len(chunk))


def _download(target: Path, url: str, fetch: Callable[[str, Path], None] | None = None) -> None:
    """Fetch the UCI archive into ``target`` and extract both splits there (nothing half-written
    is left behind when it fails)."""
    target.mkdir(parents=True, exist_ok=True)
    fetch = fetch or _fetch_with_progress
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        archive = Path(tmp) / "census-income-kdd.zip"
        try:
            fetch(url, archive)
        except OSError as exc:
            raise OSError(f"could not download {url} ({exc}). Download it by hand from {CENSUS_PAGE} "
                          f"and put census-income.data.gz and census-income.test.gz in {target}.") from exc
        try:
            found = _extract_census_files(archive, target)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise CensusDataError(f"the archive downloaded from {url} could not be read ({exc}).") from exc
    missing = {CENSUS_FILES["train"][0], CENSUS_FILES["test"][0]} - set(found)
    if missing:
        raise CensusDataError(f"the archive downloaded from {url} holds no {sorted(missing)}; "
                              f"found {found}. Get the files by hand from {CENSUS_PAGE}.")


# ---------------------------------------------------------------------------- loader
def _split(df: pd.DataFrame, test_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = int(round(len(df) * test_fraction))
    test = df.iloc[np.sort(order[:n_test])].reset_index(drop=True)
    train = df.iloc[np.sort(order[n_test:])].reset_index(drop=True)
    return train, test


def load_census_income(
    data_dir: str | os.PathLike | None = None,
    download: bool | None = None,
    *,
    test_fraction: float = 1 / 3,
    split_seed: int = 0,
    url: str = CENSUS_URL,
    _fetch: Callable[[str, Path], None] | None = None,
) -> CensusData:
    """Load Census-Income (KDD), checking every file against the published schema.

    The folder read is the first of: ``data_dir``; ``$MMOE_LAB_DATA_DIR``; the cache folder
    :func:`default_cache_dir`. It should hold ``census-income.data.gz`` (199,523 rows) and
    ``census-income.test.gz`` (99,762 rows), 42 fields per row.

    If the folder holds neither file, the official UCI archive (``url``) is downloaded into it on
    first use, with a progress bar and a line saying so, and both splits are extracted there;
    later calls read them from there. Without a network connection that fails with the same
    :class:`FileNotFoundError` as ``download=False``, saying how to get the files by hand.

    If only the test file is there, it is split into train and test here: a fixed permutation
    (``split_seed``) puts ``test_fraction`` of the rows (default 1/3, the official ratio) into
    test; ``source`` is then ``"test_only"`` and ``split_note`` says so.

    Args:
        data_dir: folder with the files (default: see above).
        download: ``None`` (default): download when the folder holds neither file. ``True``: also
            when only the train file is missing (to replace a test-only folder by the official
            split); a failed download raises ``OSError``. ``False``: never download.
        test_fraction: share of rows held out when only the test file exists, in (0, 1).
        split_seed: seed of that split.
        url: the archive to download.

    Returns:
        :class:`CensusData` with ``train``/``test`` DataFrames (42 columns each), ``source``
        and ``split_note``.

    Raises:
        FileNotFoundError: the test file is not in the folder and was not downloaded (``download``
            False, or offline).
        OSError: ``download=True`` and the download failed.
        CensusDataError: a file is truncated, corrupt, empty or has the wrong schema.

    Example:

    >>> data = load_census_income()                     # doctest: +SKIP
    >>> data.source, data.train.shape                   # doctest: +SKIP
    ('full', (199523, 42))
    """
    check_number("test_fraction", test_fraction, 0, 1, lo_open=True, hi_open=True)
    folder, how = _resolve_dir(data_dir)
    train_name, train_rows = CENSUS_FILES["train"]
    test_name, test_rows = CENSUS_FILES["test"]
    origin = {"$MMOE_LAB_DATA_DIR": "read from the folder that $MMOE_LAB_DATA_DIR names",
              "the cache folder": "read from the kit's cache folder",
              "the `data_dir` argument": "read from the folder given as `data_dir`"}[how]
    if download is not None:
        check_bool("download", download)
    has_train, has_test = (folder / train_name).is_file(), (folder / test_name).is_file()
    failed = ""
    if (download is None and not (has_train or has_test)) or (download and not has_train):
        print(wrap_text(f"Census-Income (KDD) is not in {_shown(folder)} (chosen by {how}) yet: downloading the "
                        f"official archive from the UCI Machine Learning Repository, once; later runs read it "
                        f"from there."))
        try:
            _download(folder, url, _fetch)
        except OSError as exc:
            if download:
                raise
            failed = f" (Tried to download {url}: {exc.__cause__ or exc}.)"
        else:
            print(wrap_text(f"Saved {train_name} and {test_name} in {_shown(folder)}."))
            origin = f"downloaded from the UCI repository (folder chosen by {how})"
        has_train, has_test = (folder / train_name).is_file(), (folder / test_name).is_file()
    if not has_test:
        what = "neither file" if not has_train else f"{train_name} but not {test_name}"
        raise FileNotFoundError(
            f"Census-Income (KDD) not found: {folder} (chosen by {how}) holds {what}; expected "
            f"{train_name} ({train_rows:,} rows) and {test_name} ({test_rows:,} rows). {_HOW_TO_GET}{failed}"
        )
    test = read_census_file(folder / test_name, test_rows)
    if has_train:
        train = read_census_file(folder / train_name, train_rows)
        note = (f"{origin}; official split: {train_name} ({len(train):,} rows) for training, "
                f"{test_name} ({len(test):,} rows) for testing")
        return CensusData(train, test, "full", note)
    train, test = _split(test, test_fraction, split_seed)
    note = (f"{origin}; only {test_name} was found: its {test_rows:,} rows were split here into "
            f"{len(train):,} train and {len(test):,} test rows (seed {split_seed}); "
            f"the paper trains on the {train_rows:,}-row {train_name}")
    return CensusData(train, test, "test_only", note)


# ---------------------------------------------------------------------------- tasks
def census_labels(df: pd.DataFrame) -> pd.DataFrame:
    """The three binary labels of the paper's task groups.

    Args:
        df: census rows (columns of :data:`CENSUS_COLUMNS`).

    Returns:
        DataFrame ``(rows, 3)`` of 0/1 ints: ``income`` (> 50K), ``marital`` (never married),
        ``education`` (a college degree, :data:`COLLEGE_DEGREES`).
    """
    check_columns("df", df, ("income", "marital_stat", "education"))  # the census columns
    return pd.DataFrame({
        "income": (df["income"] == "50000+.").astype("int64"),
        "marital": (df["marital_stat"] == "Never married").astype("int64"),
        "education": df["education"].isin(COLLEGE_DEGREES).astype("int64"),
    }, index=df.index)


def census_tasks(df: pd.DataFrame, group: int = 1) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Inputs and labels of one task group (paper §6.3).

    Args:
        df: census rows.
        group: 1 (``income``, ``marital``) or 2 (``education``, ``marital``).

    Returns:
        ``(features, labels)``: ``features`` is ``df`` without ``instance_weight``, ``income``
        and the group's label columns (39 columns for group 1, 38 for group 2); ``labels`` is
        ``{task: (rows,) float32 0/1}`` in :data:`mmoe_lab.paper.CENSUS_TASK_GROUPS` order.
    """
    check_choice("group", group, tuple(paper.CENSUS_TASK_GROUPS))
    names = paper.CENSUS_TASK_GROUPS[group]
    labels = census_labels(df)
    drop = {"instance_weight", "income", *(_LABEL_SOURCE[n] for n in names)}
    features = df[[c for c in df.columns if c not in drop]].reset_index(drop=True)
    return features, {n: labels[n].to_numpy(np.float32) for n in names}


def census_label_pearson(df: pd.DataFrame) -> pd.DataFrame:
    """Label |Pearson| of each task group beside the paper's.

    Returns:
        DataFrame indexed by group with columns ``tasks``, ``abs_pearson`` (these rows),
        ``paper`` (:data:`mmoe_lab.paper.CENSUS_LABEL_PEARSON`) and ``pearson`` (signed).
    """
    labels = census_labels(df)
    rows = []
    for group, (a, b) in paper.CENSUS_TASK_GROUPS.items():
        r = float(np.corrcoef(labels[a], labels[b])[0, 1])
        rows.append({"group": group, "tasks": f"{a} + {b}", "abs_pearson": abs(r),
                     "paper": paper.CENSUS_LABEL_PEARSON[group], "pearson": r})
    return pd.DataFrame(rows).set_index("group")
