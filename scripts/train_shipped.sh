#!/usr/bin/env bash
# Retrain one shipped model and copy it into fbnet/pretrained/ with its model card.
#
#   scripts/train_shipped.sh NAME [train.py options ...]
#
# NAME: fbnet_warmup, fbnet, fbnet_anyt, sin_gan, deep_cnn or dncnn (configs/shipped/NAME.yaml);
# sin_gan_paper trains the paper's (not flow-guided) SIN-GAN recipe, which is not shipped.
# sin_gan's flow guide starts from fbnet/pretrained/fbnet.keras.
# Needs the datasets of scripts/build_shipped_data.sh. Runs go to runs/shipped/NAME (running the
# command again resumes). Staged models start a new run from the weights of the previous stage's
# run (`train.py --init-from RUN`: its best checkpoint, strict; optimizer state and step counter
# start afresh, and the configs' learning rates continue the earlier schedule):
#   fbnet_warmup (flow warm-up on shifted textures, not shipped) -> fbnet (real/photo mix)
#   -> fbnet_anyt (7-frame windows with random t).
# FBNET_SHIP=0 trains without copying the result into fbnet/pretrained/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NAME="${1:?usage: scripts/train_shipped.sh NAME [train.py options ...]}"
shift
CONFIG="configs/shipped/$NAME.yaml"
[[ -f "$CONFIG" ]] || { echo "train_shipped: no config $CONFIG" >&2; exit 2; }
PY="${PYTHON:-$ROOT/.venv/bin/python}"
RUN="runs/shipped/$NAME"
MODEL="$NAME"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

case "$NAME" in
  fbnet) BASE_NAME=fbnet_warmup ;;
  fbnet_anyt) BASE_NAME=fbnet ;;
  *) BASE_NAME="" ;;
esac
if [[ "$NAME" == fbnet* ]]; then MODEL=fbnet; fi
if [[ "$NAME" == sin_gan* ]]; then MODEL=sin_gan; fi
INIT=()
if [[ -n "$BASE_NAME" ]]; then
  BASE="runs/shipped/$BASE_NAME"
  # A run that already exists resumes (train.py ignores --init-from then).
  if [[ ! -f "$RUN/config.yaml" && ! -f "$BASE/config.yaml" ]]; then
    echo "train_shipped: $NAME starts from $BASE; run scripts/train_shipped.sh $BASE_NAME" >&2
    exit 2
  fi
  INIT=(--init-from "$BASE")
fi

start=$(date +%s)
"$PY" train.py --model "$MODEL" --config "$CONFIG" --run-dir "$RUN" --no-progress "${INIT[@]}" "$@"
seconds=$(( $(date +%s) - start ))
if [[ "${FBNET_SHIP:-1}" != 0 && "$NAME" != fbnet_warmup && "$NAME" != sin_gan_paper ]]; then
  "$PY" -m fbnet.pretrained.ship --run-dir "$RUN" --name "$NAME" --train-seconds "$seconds"
fi
