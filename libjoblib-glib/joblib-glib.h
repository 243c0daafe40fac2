/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <glib-object.h>
#include <gio/gio.h>

#define JOBLIB_GLIB_INSIDE
# include "job-version.h"
# include "job-version-macros.h"
# include "job-enums.h"
# include "job-error.h"
# include "job-cpu.h"
# include "job-function.h"
# include "job-call.h"
# include "job-outcome.h"
# include "job-batch.h"
# include "job-backend.h"
# include "job-sequential-backend.h"
# include "job-thread-backend.h"
# include "job-parallel-config.h"
# include "job-parallel.h"
/* persistence */
# include "job-array.h"
# include "job-compression.h"
# include "job-codec-converter.h"
# include "job-bz2-converter.h"
# include "job-lzma-converter.h"
# include "job-lz4-converter.h"
# include "job-zstd-converter.h"
# include "job-persist.h"
# include "job-pickle-plain.h"
# include "job-file-format.h"
/* memory */
# include "job-hash.h"
# include "job-cache-entry.h"
# include "job-memory.h"
# include "job-memorized-result.h"
# include "job-memorized-function.h"
/* process backend */
# include "job-native-library.h"
# include "job-process-backend.h"
# include "job-remote-backend.h"
# include "job-slurm-backend.h"
# include "job-ssh-backend.h"
# include "job-cluster-backend.h"
# include "job-dask-backend.h"
# include "job-ipyparallel-backend.h"
#undef JOBLIB_GLIB_INSIDE
