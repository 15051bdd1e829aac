"""Moodle / IOMAD connector: the web-service client (client.py) and the incremental sync planner
(sync.py). Pure Python, no database: app/services/integrations/moodle.py maps a SyncBatch onto Laurel."""

from app.connectors.moodle.client import (
                                            COURSE_FALLBACK_FUNCTIONS,
                                            DEFAULT_OVERLAP,
                                            DEFAULT_PAGE_SIZE,
                                            DEFAULT_TIMEOUT,
                                            IOMAD_FUNCTIONS,
                                            REQUIRED_FUNCTIONS,
                                            CompletionStatus,
                                            MoodleClient,
                                            MoodleError,
                                            encode_params,
)
from app.connectors.moodle.sync import (
                                            CourseIssue,
                                            MoodleCompletion,
                                            MoodleCourse,
                                            MoodleUser,
                                            SyncBatch,
                                            fetch_changes,
)

__all__ = [
    "COURSE_FALLBACK_FUNCTIONS", "DEFAULT_OVERLAP", "DEFAULT_PAGE_SIZE", "DEFAULT_TIMEOUT", "IOMAD_FUNCTIONS",
    "REQUIRED_FUNCTIONS", "CompletionStatus", "CourseIssue", "MoodleClient", "MoodleCompletion",
    "MoodleCourse", "MoodleError", "MoodleUser", "SyncBatch", "encode_params", "fetch_changes",
]
