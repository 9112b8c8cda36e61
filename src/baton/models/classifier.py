"""The offline text classifier: TF-IDF and logistic regression trained on a labelled CSV.

The CSV has a header row with (at least) the columns ``text`` and ``label``; every other row is one
labelled example::

    text,label
    "Need 500 seats before the end of the quarter, budget approved",hot
    "Just browsing, student project",cold
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton.errors import Location, SpecError

__all__ = ["TextClassifier", "TrainingData", "read_training_data", "train_classifier"]

_COLUMNS = ("text", "label")
_HINT_PATHS = "offline.classifier.train is relative to the workflow file"


@dataclass(frozen=True)
class TrainingData:
    """Labelled examples read from a CSV, with the line each one came from."""

    path: Path
    texts: list[str]
    labels: list[str]
    lines: list[int]


@dataclass(frozen=True)
class TextClassifier:
    """A trained classifier: give it a text, get a label with its probability.

    Attributes:
        source: the CSV it was trained on.
        labels: the labels it can predict, sorted.
        examples: how many rows it was trained on.
    """

    source: Path
    labels: tuple[str, ...]
    examples: int
    _pipeline: Any = field(repr=False, compare=False)

    def predict(self, text: str) -> dict[str, Any]:
        """Classify ``text``.

        Args:
            text: the text to classify.

        Returns:
            ``{"label": str, "confidence": float, "probabilities": {label: float}}``; ``confidence`` is
            the probability of ``label``, the most probable one. Probabilities are rounded to 4 places
            so outputs are stable and readable.

        Example::

            classifier.predict("budget approved, need 500 seats")
            # {'label': 'hot', 'confidence': 0.8123, 'probabilities': {'cold': 0.1877, 'hot': 0.8123}}
        """
        row = self._pipeline.predict_proba([text])[0]
        probabilities = {
            str(label): round(float(p), 4) for label, p in zip(self._pipeline.classes_, row, strict=True)
        }
        best = max(range(len(row)), key=lambda i: float(row[i]))
        return {
            "label": str(self._pipeline.classes_[best]),
            "confidence": round(float(row[best]), 4),
            "probabilities": probabilities,
        }


def read_training_data(path: Path) -> TrainingData:
    """Read labelled examples from the CSV at ``path``.

    Args:
        path: a CSV file with a header naming the columns ``text`` and ``label``.

    Returns:
        The examples, in file order.

    Raises:
        SpecError: the file is missing, empty, not UTF-8, lacks a column, has a row without text or
            label, or has fewer than two distinct labels; the location names the file and line.
    """
    try:
        # utf-8-sig: spreadsheets often save CSV with a byte-order mark that would corrupt the header.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _parse(path, csv.reader(handle))
    except FileNotFoundError:
        raise SpecError(Location(path), "training data file does not exist", _HINT_PATHS) from None
    except UnicodeDecodeError as exc:
        raise SpecError(Location(path), f"training data is not UTF-8 text ({exc.reason})") from None


def _parse(path: Path, reader: Any) -> TrainingData:
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise SpecError(
                Location(path, 1),
                "training data file is empty",
                "write a header row 'text,label' and one labelled example per row",
            )
        names = [cell.strip().lower() for cell in header]
        for column in _COLUMNS:
            if column not in names:
                raise SpecError(
                    Location(path, 1),
                    f"the header has no '{column}' column (found: {', '.join(names)})",
                    "the header row must name the columns 'text' and 'label'",
                )
        text_at, label_at = names.index("text"), names.index("label")
        texts: list[str] = []
        labels: list[str] = []
        lines: list[int] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines are layout, not examples
            line = reader.line_num
            text = row[text_at].strip() if text_at < len(row) else ""
            label = row[label_at].strip() if label_at < len(row) else ""
            if not text or not label:
                missing = "text" if not text else "label"
                raise SpecError(
                    Location(path, line),
                    f"row has no {missing}",
                    "every example needs both a text and a label",
                )
            texts.append(text)
            labels.append(label)
            lines.append(line)
    except csv.Error as exc:
        raise SpecError(Location(path, reader.line_num), f"not valid CSV: {exc}") from None
    if not texts:
        raise SpecError(
            Location(path, 1),
            "training data has a header but no examples",
            "add one labelled example per row",
        )
    distinct = sorted(set(labels))
    if len(distinct) < 2:
        raise SpecError(
            Location(path, lines[0]),
            f"every example (lines {lines[0]}-{lines[-1]}) has the label '{distinct[0]}'; "
            "a classifier needs at least two labels",
            "add examples of the other labels",
        )
    return TrainingData(path=path, texts=texts, labels=labels, lines=lines)


def train_classifier(path: Path) -> TextClassifier:
    """Train a classifier on the labelled CSV at ``path``.

    The model is a TF-IDF vectoriser over words and word pairs feeding a logistic regression: small,
    quick to train on a few hundred rows, and deterministic (same file, same predictions).

    Args:
        path: a CSV file with the columns ``text`` and ``label``.

    Returns:
        The trained classifier.

    Raises:
        SpecError: the training data is unusable (see :func:`read_training_data`), or its texts hold
            no words at all.
    """
    data = read_training_data(path)
    # Imported here, not at the top: scikit-learn takes about a second to import, and only processes
    # that actually run an offline classifier should pay for it (the CLI and API start without it).
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("model", LogisticRegression(max_iter=2000, random_state=0)),
        ]
    )
    try:
        pipeline.fit(data.texts, data.labels)
    except ValueError as exc:  # e.g. "empty vocabulary": every text is punctuation or one letter long
        raise SpecError(
            Location(path, data.lines[0]),
            f"cannot train on this data: {exc}",
            "the texts need words of two or more letters",
        ) from None
    return TextClassifier(
        source=path,
        labels=tuple(str(label) for label in pipeline.classes_),
        examples=len(data.texts),
        _pipeline=pipeline,
    )
