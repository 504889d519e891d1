"""The manifest entry of distilled weights: provenance, corpus, licence terms and agreement with the teacher."""

import json

from musiczoo_runtime.atomic import atomic_path
from musiczoo_runtime.contract import FRONTEND_CONFIG
from zoo.models.catalog import card
from zoo.models.weights import file_fields


def distilled_entry(student, teacher, tag, path, metrics, summary, training, command):
    """The manifest entry of distilled weights (same structure as the ported entries, plus teacher and corpus)."""
    sources = ", ".join(f"{name} {s['hours']:.2f} h" for name, s in sorted(summary["sources"].items()))
    mir1k = (" Includes MIR-1K (Hsu and Jang 2010; research use only, not redistributed): the weights carry "
             "its research-use terms." if summary["mir1k"] else "")
    parent = card(teacher, tag)
    return {
        **file_fields(path),
        "tag_space": tag,
        "kind": "distilled",
        "teacher": {"model": teacher, "weights": tag, "sha256": parent.sha256},
        "source": {
            "recipe": "tools/build_corpus.py, then musiczoo distill",
            "command": command,
            "distilled_by": "zoo/training/distill.py",
        },
        "license": {
            "name": parent.license["name"] + (" + research use only (MIR-1K in the training audio)"
                                                 if summary["mir1k"] else ""),
            "file": parent.license["file"],
            "attribution": f"Distilled by musiczoo from {teacher} {tag} ({parent['license']['attribution']}). "
                           f"Training audio: freely licensed recordings (licenses per source in corpus.sources)."
                           + mir1k,
        },
        "training_data": f"No labels: the teacher's per-patch probabilities on {summary['hours']:.2f} h of unlabeled "
                         f"audio ({summary['files']} files, {summary['patch_hours']:.2f} h in 3 s patches; "
                         f"{sources}).{mir1k}",
        "corpus": summary,
        "metrics": {
            **{key: metrics[key] for key in ("roc_auc_at_0.5", "tags_used_at_0.5", "roc_auc_top10",
                                             "tags_used_top10", "mean_abs_difference", "patches")},
            "protocol": f"agreement with the teacher {teacher} {tag}, not accuracy on labels: macro ROC-AUC of the "
                        f"student's probabilities against the teacher's tags binarised at 0.5 (tags with one class "
                        f"skipped) and at each tag's top-10% quantile, and mean absolute probability difference, "
                        f"over the 3 s patches of the corpus {metrics['split']} split (split by track)",
        },
        "cost": {"params": metrics["params"], "patches_per_second": metrics["patches_per_second"],
                 "relative_speed_vs_teacher": metrics["relative_speed"]},
        "training": training,
        "frontend": dict(FRONTEND_CONFIG),
        "description": f"{student} distilled from {teacher} {tag} on unlabeled freely licensed music.",
    }


def write_entry(out, student, tag, entry):
    """Adds the entry to `out/manifest.json` under the student's weights, or writes a card next to the file."""
    listing = out / "manifest.json"
    if listing.exists():
        data = json.loads(listing.read_text(encoding="utf-8"))
        if student in data.get("models", {}):
            data["models"][student]["weights"][tag] = entry
            with atomic_path(listing) as tmp:
                tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            return listing
    card_path = out / f"{student}.{tag}.card.json"
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return card_path
