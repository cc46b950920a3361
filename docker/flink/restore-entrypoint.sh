#!/bin/sh
# Entrypoint of the compose service jobmanager (docker/compose.yaml): resumes the anomaly job from
# its newest retained checkpoint or savepoint, then hands over to Flink's own entrypoint.
#
# Without high availability, a JobManager in application mode submits its job afresh at every
# start: state (baselines, open alerts) would be lost at each restart. So for `standalone-job`
# this looks for the newest complete snapshot under the checkpoint directory, a non-empty
# _metadata in <job-id>/chk-<n>/ or in savepoints/savepoint-*/ (Flink writes _metadata last, so a
# checkpoint directory without it is incomplete), and passes its directory as --fromSavepoint.
# Newest means the most recently written _metadata: every start runs under a new job id, so
# checkpoint numbers of different runs do not compare. Nothing found (first start, empty volume):
# the job starts afresh. Any other command is passed through unchanged.
#
#   PLANTWATCH_CHECKPOINT_DIR            where to look (default /tmp/flink-checkpoints)
#   PLANTWATCH_ALLOW_NON_RESTORED_STATE  true: also --allowNonRestoredState (state of operators
#                                        the job no longer has, e.g. a removed rule's pattern,
#                                        is dropped instead of refusing the restore)
#   PLANTWATCH_FLINK_ENTRYPOINT          what to run at the end (default /docker-entrypoint.sh)
set -eu

dir=${PLANTWATCH_CHECKPOINT_DIR:-/tmp/flink-checkpoints}
entrypoint=${PLANTWATCH_FLINK_ENTRYPOINT:-/docker-entrypoint.sh}

# The directory of the newest complete snapshot under $1; nothing if there is none.
newest_snapshot() {
    [ -d "$1" ] || return 0
    # Flink's paths hold no blanks (job ids, chk-<n>, savepoint-<id>-<hex>).
    files=$(find "$1" -type f -name _metadata -size +0 \
        \( -path '*/chk-*/_metadata' -o -path '*/savepoint-*/_metadata' \) 2>/dev/null || true)
    [ -n "$files" ] || return 0
    # shellcheck disable=SC2086 # split on purpose, see above
    newest=$(ls -1t $files | head -n 1)
    dirname "$newest"
}

if [ "${1:-}" = standalone-job ]; then
    snapshot=$(newest_snapshot "$dir")
    if [ -n "$snapshot" ]; then
        shift
        if [ "${PLANTWATCH_ALLOW_NON_RESTORED_STATE:-false}" = true ]; then
            set -- --allowNonRestoredState "$@"
        fi
        set -- standalone-job --fromSavepoint "file://$snapshot" "$@"
        echo "restore-entrypoint: resuming the job from $snapshot" >&2
    else
        echo "restore-entrypoint: no retained checkpoint or savepoint under $dir, the job starts afresh" >&2
    fi
fi
exec "$entrypoint" "$@"
