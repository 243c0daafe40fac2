# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib-glib Analysis, an example GTK 4 + libadwaita app (see app.py)."""
