"""`musiczoo finetune`, `distill` and `agreement`: training new heads, distilling students, measuring them."""

import json
import shlex
import sys
from pathlib import Path

from musiczoo_runtime import checks
from musiczoo_runtime.choices import DATASET_LAYOUTS, STRATEGIES
from musiczoo_runtime.cli_arguments import add_folder_argument, add_model_arguments, add_quiet_argument, count
from musiczoo_runtime.cli_common import OK, output_folder
from musiczoo_runtime.contract import DEFAULT_WEIGHTS, WEIGHT_TAGS
from zoo.training.corpus import MAX_PATCHES_PER_FILE, TEACHER


def cmd_finetune(args):
    from zoo.training.finetune import finetune

    result = finetune(args.data, model=args.model, weights=args.weights, out_dir=args.out, layout=args.layout,
                      multi_label=args.multi_label, pooling=args.pooling, epochs=args.epochs,
                      fine_tune_blocks=args.fine_tune_blocks, learning_rate=args.learning_rate,
                      fine_tune_learning_rate=args.fine_tune_learning_rate, validation_split=args.validation_split,
                      patience=args.patience, batch_size=args.batch_size, seed=args.seed, verbose=not args.quiet,
                      strategy=args.strategy, force=args.force)
    scores = result.report["validation"]
    if scores:
        print(f"validation: clip accuracy {scores['clip_accuracy']:.3f}, patch accuracy "
              f"{scores['patch_accuracy']:.3f} over {scores['files']} files", file=sys.stderr)
    print(Path(args.out) / "model.keras")
    return OK


def cmd_distill(args):
    from zoo.training.distill import distill

    output_folder(args.out, "--out")
    command = "musiczoo " + " ".join(shlex.quote(a) for a in args.argv)  # argv starts with "distill"
    distill(args.corpus, args.student, args.teacher_weights, args.out, teacher=args.teacher, cache=args.cache,
            epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
            patience=args.patience, max_minutes=args.max_minutes, seed=args.seed, init=args.init,
            max_patches_per_file=args.max_patches_per_file, command=command)
    return OK


def cmd_agreement(args):
    from zoo.training.agreement import markdown, measure

    results, clips = measure(args.corpus, args.cache, args.teacher, args.teacher_weights, args.models,
                             args.clip_models, args.max_patches_per_file,
                             log=lambda message: print(message, file=sys.stderr))
    print(markdown(results))
    for space, rows in clips.items():
        for name, metrics in rows.items():
            print(f"clip level, one pass per clip: {name} {space}: {metrics}")
    if args.json:
        from musiczoo_runtime.atomic import atomic_path

        with atomic_path(Path(args.json)) as tmp:
            tmp.write_text(json.dumps({"patches": results, "clips": clips}, indent=2), encoding="utf-8")
    return OK


def _add_finetune(commands):
    parser = commands.add_parser("finetune", help="train a new classifier on a pretrained backbone")
    parser.add_argument("data", metavar="DATA", help="dataset folder (GTZAN, Ballroom, IRMAS or one folder per "
                                                     "class) or CSV of path,label[,label...]")
    add_model_arguments(parser)  # the backbone
    # not an `add_folder_argument`: with --strategy multiworker every worker runs this command, and only the
    # chief creates and owns --out (`zoo.training.strategies.output_folder`)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for model.keras, labels.json and "
                                                                    "history.json")
    parser.add_argument("--layout", default="auto", choices=("auto", *DATASET_LAYOUTS),
                        help="dataset layout (default: detected)")
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--multi-label", dest="multi_label", action="store_const", const=True,
                        help="sigmoid outputs (default: when some file has several labels)")
    labels.add_argument("--single-label", dest="multi_label", action="store_const", const=False,
                        help="softmax outputs")
    parser.add_argument("--pooling", choices=("avg", "max"), default="avg",
                        help="pooling of the backbone output (default: avg)")
    parser.add_argument("--epochs", type=int, default=30, help="at most N epochs per phase (default: 30)")
    parser.add_argument("--fine-tune-blocks", type=int, default=0, metavar="N",
                        help="then unfreeze the top N backbone blocks and train again (default: 0)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="head phase (default: 1e-3)")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=1e-4,
                        help="fine-tuning phase (default: 1e-4)")
    parser.add_argument("--validation-split", type=float, default=0.2, help="share of files held out (default: 0.2)")
    parser.add_argument("--patience", type=int, default=5,
                        help="epochs without a better validation loss before stopping (default: 5)")
    parser.add_argument("--batch-size", type=count("--batch-size", checks.MAX_BATCH_SIZE), default=16,
                        help="patches per step (default: 16)")
    parser.add_argument("--seed", type=int, default=0, help="fixes split and initialisation (default: 0)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="none",
                        help="tf.distribute: this machine's devices (mirrored), or the cluster in TF_CONFIG "
                             "(multiworker: run the same command on every worker; only the chief writes --out)")
    parser.add_argument("--force", action="store_true", help="replace a model already in --out")
    add_quiet_argument(parser)
    parser.set_defaults(run=cmd_finetune)


def _add_corpus_arguments(parser):
    parser.add_argument("--corpus", required=True, help="corpus folder (manifest.csv) or any folder of audio")
    parser.add_argument("--cache", help="patch and teacher cache, outside the repository "
                                        "(default: distill/ under $MUSICZOO_CACHE or ~/.cache/musiczoo)")
    parser.add_argument("--teacher", default=TEACHER, help=f"catalog name of the teacher (default: {TEACHER})")
    parser.add_argument("--max-patches-per-file", type=int, default=MAX_PATCHES_PER_FILE,
                        help=f"evenly spaced patches kept per file (default: {MAX_PATCHES_PER_FILE})")


def _add_distill(commands):
    parser = commands.add_parser("distill", help="distil the teacher's tags into a catalog model on unlabeled audio")
    _add_corpus_arguments(parser)
    parser.add_argument("--student", required=True, help="catalog name of the model to train")
    parser.add_argument("--teacher-weights", default=DEFAULT_WEIGHTS, choices=WEIGHT_TAGS,
                        help="tag space of the teacher (and of the result)")
    add_folder_argument(parser, "folder for the weight file and manifest entry", required=False, default="weights")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=count("--batch-size", checks.MAX_BATCH_SIZE), default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--max-minutes", type=float,
                        help="training time budget in minutes (training stops after the epoch that exceeds it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", help="a weight file of the student to continue training from")
    parser.set_defaults(run=cmd_distill)


def _add_agreement(commands):
    parser = commands.add_parser("agreement", help="agreement of models with the teacher on a corpus's test split")
    _add_corpus_arguments(parser)
    parser.add_argument("--teacher-weights", nargs="+", default=[DEFAULT_WEIGHTS], choices=WEIGHT_TAGS,
                        help="tag spaces to measure")
    parser.add_argument("--models", nargs="+", default=["timbral", "temporal", "crnn", "vgg"],
                        help="catalog names (their pretrained weights of each tag space) or NAME=PATH.h5")
    parser.add_argument("--clip-models", nargs="*", default=[],
                        help="also measure these models clip by clip, one pass over each whole test clip")
    parser.add_argument("--json", help="write the results here as JSON")
    parser.set_defaults(run=cmd_agreement)


def add_commands(commands):
    """Adds `finetune`, `distill` and `agreement` to the sub-command parsers."""
    _add_finetune(commands)
    _add_distill(commands)
    _add_agreement(commands)
