/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (JOBLIB_GLIB_INSIDE) && !defined (JOBLIB_GLIB_COMPILATION)
# error "Only <joblib-glib.h> can be included directly."
#endif

#include <glib.h>

#include "job-version.h"

#ifndef _JOB_EXTERN
# define _JOB_EXTERN __attribute__((visibility("default"))) extern
#endif

#define JOB_AVAILABLE_IN_ALL _JOB_EXTERN
#define JOB_AVAILABLE_IN_0_1 _JOB_EXTERN
