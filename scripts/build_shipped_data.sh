#!/usr/bin/env bash
# Rebuild the datasets of the shipped models (see configs/data/shipped.md).
#
#   scripts/build_shipped_data.sh [SHARED_DIR]
#
# SHARED_DIR (default: $FBNET_SHARED_DIR, else ../shared relative to the repository) holds
# data/clips (real video) and data/stills (photographs for textured synthetic motion).
# Everything is written under $FBNET_DATA_OUT (default tfrecords/shipped):
#   train3/   3-frame training windows, 256x192: real clips (stride 1 and 2) + photo-textured
#             synthetic motion + procedural synthetic motion; val = tail of each clip + synthetic
#   train3m/  train3 plus photo-textured scenes with large motion (FBNet's motion stage)
#   shift-w3/ 3-frame smooth-texture translations, 128x128: FBNet's flow warm-up
#   train3t/  3-frame windows, 384x288, with DIS teacher flows: real clips + large-motion photo
#             scenes (FBNet's distillation stage); train3d/ = train3t + the Megamind excerpt
#             (internal experiments only)
#   train7/   7-frame windows, 256x192, for the any-t model (real clips + photo-textured synthetic)
#   test-s1/  held-out clips, native size, stride 1, one folder per triplet (f0/f1/f2.png)
#   test-s2/  the same at stride 2
#   test-w7/  held-out clips, native size, 7-frame windows (0.png ... 6.png)
# Sizes of the synthetic parts: FBNET_SYN_PHOTO (3-frame photo-textured windows, default 240),
# FBNET_SYN_PROC (procedural, default 120), FBNET_SYN_SHIFT (shift warm-up, default 600),
# FBNET_SYN_MOTION (large-motion photo scenes, default 480),
# FBNET_SYN_PHOTO7 (7-frame, default 60).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${1:-${FBNET_SHARED_DIR:-../shared}}"
CLIPS="$SHARED/data/clips"
STILLS="$SHARED/data/stills"
OUT="${FBNET_DATA_OUT:-tfrecords/shipped}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
FBNET=("$PY" -m fbnet)
SIZE=256x192
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

for dir in "$CLIPS" "$STILLS"; do
  [[ -d "$dir" ]] || { echo "build_shipped_data: no such folder: $dir" >&2; exit 2; }
done

# Training clips. Held out for testing (never in train3/train7): hug_lego_mechanism.mp4,
# kphotoalbum_webcam_face.avi, imageio_handheld_plant.mp4, mecavideo_cyclist_2.avi.
# Not in any shipped model's data: megamind_cg_dialogue.avi (commercial film: licence allows
# internal testing only, never a shipped model or dataset; only the experimental train3d below
# uses it, so nothing trained on train3d is shipped; train3t is train3d without it) and
# calais1906_car_race_film.ogv (archival grain, gate weave and splices: a robustness probe, not a
# clean target).
TRAIN_CLIPS=(
  visp_cube_moving_camera.mpeg
  mecavideo_ball_throw_100fps.mp4
  mecavideo_ball_toss_highfps.avi
  mecavideo_cyclist_1.avi
  mecavideo_airtable_push.avi
  mecavideo_airtable_magnets.ogv
)
TEST_CLIPS=(
  hug_lego_mechanism.mp4
  kphotoalbum_webcam_face.avi
  imageio_handheld_plant.mp4
  mecavideo_cyclist_2.avi
)
sources=()
for clip in "${TRAIN_CLIPS[@]}"; do sources+=(--source "$CLIPS/$clip"); done
parts="$OUT/parts"
mkdir -p "$parts"
build() { "${FBNET[@]}" data build --quiet --overwrite "$@"; }

# 3-frame training data.
build "${sources[@]}" --out "$parts/real-s1" --window 3 --stride 1 --size $SIZE \
  --val-fraction 0.1 --split-by segment
build "${sources[@]}" --out "$parts/real-s2" --window 3 --stride 2 --size $SIZE \
  --val-fraction 0.1 --split-by segment
build --synthetic "${FBNET_SYN_PHOTO:-240}" --textures "$STILLS" --out "$parts/photo-w3" \
  --window 3 --size $SIZE --val-fraction 0.1 --seed 1
build --synthetic "${FBNET_SYN_PROC:-120}" --out "$parts/proc-w3" \
  --window 3 --size $SIZE --val-fraction 0.1 --seed 2
# Flow warm-up data for FBNet (configs/shipped/fbnet_warmup.yaml): smooth textures shifted as a
# whole by 1.5-6 px per frame.
build --synthetic "${FBNET_SYN_SHIFT:-600}" --motion shift --max-shift 6 --out "$OUT/shift-w3" \
  --window 3 --size 128x128 --val-fraction 0.1 --seed 3
"$PY" scripts/merge_datasets.py --overwrite "$OUT/train3" \
  "$parts/real-s1" "$parts/real-s2" "$parts/photo-w3" "$parts/proc-w3"
# Large-motion photo scenes (camera and objects up to 20 px per frame) for FBNet's motion stage
# (configs/shipped/fbnet_motion.yaml): train3 plus these.
build --synthetic "${FBNET_SYN_MOTION:-480}" --textures "$STILLS" --out "$parts/photo-m20" \
  --window 3 --size $SIZE --val-fraction 0.1 --seed 21 --max-shift 20 --max-object-speed 20
"$PY" scripts/merge_datasets.py --overwrite "$OUT/train3m" \
  "$parts/real-s1" "$parts/real-s2" "$parts/photo-w3" "$parts/proc-w3" "$parts/photo-m20"

# Distillation stage (train3t): larger frames (384x288: the real clips' motion at close to their
# native scale) with OpenCV DIS teacher flows, and photo scenes with up to 24 px/frame of camera
# and object motion. train3d (experimental, never shipped) adds the Megamind excerpt to it.
SIZE_D=384x288
for stride in 1 2; do
  build "${sources[@]}" --out "$parts/real-d-s$stride" --window 3 --stride $stride \
    --size $SIZE_D --val-fraction 0.1 --split-by segment --teacher-flow dis
  build --source "$CLIPS/megamind_cg_dialogue.avi" --out "$parts/megamind-d-s$stride" --window 3 \
    --stride $stride --size $SIZE_D --val-fraction 0.1 --split-by segment --teacher-flow dis
done
build --synthetic "${FBNET_SYN_MOTION_D:-480}" --textures "$STILLS" --out "$parts/photo-d24" \
  --window 3 --size $SIZE_D --val-fraction 0.1 --seed 24 --max-shift 24 --max-object-speed 24 \
  --teacher-flow dis
"$PY" scripts/merge_datasets.py --overwrite "$OUT/train3t" \
  "$parts/real-d-s1" "$parts/real-d-s2" "$parts/photo-d24"
"$PY" scripts/merge_datasets.py --overwrite "$OUT/train3d" \
  "$parts/real-d-s1" "$parts/real-d-s2" "$parts/photo-d24" \
  "$parts/megamind-d-s1" "$parts/megamind-d-s2"

# 7-frame training data for the any-t model.
build "${sources[@]}" --out "$parts/real-w7" --window 7 --stride 1 --size $SIZE \
  --val-fraction 0.1 --split-by segment
build --synthetic "${FBNET_SYN_PHOTO7:-60}" --textures "$STILLS" --out "$parts/photo-w7" \
  --window 7 --size $SIZE --val-fraction 0.1 --seed 3
"$PY" scripts/merge_datasets.py --overwrite "$OUT/train7" "$parts/real-w7" "$parts/photo-w7"

# Held-out test sets at native size (one dataset per clip, then one folder per test set).
for spec in s1:3:1 s2:3:2 w7:7:1; do
  IFS=: read -r name window stride <<<"$spec"
  per_clip=()
  for clip in "${TEST_CLIPS[@]}"; do
    dest="$parts/test-$name/${clip%.*}"
    build --source "$CLIPS/$clip" --out "$dest" --window "$window" --stride "$stride" \
      --val-fraction 0
    per_clip+=("$dest")
  done
  "$PY" scripts/shipped_testsets.py "$OUT/test-$name" "${per_clip[@]}"
done
echo "build_shipped_data: datasets in $OUT"
