"""RQ job functions: thin, take ids, load rows, call services, commit at the job boundary.

Workers get their app context from `app.tasks.worker.AppWorker`, never at import time.
"""
