"""The course's floor: tooling a learner never imports (see ARCHITECTURE.md).

``checks`` (the exercises' diagnosing checks), ``grading`` (grade a class's notebooks) and
``kernel_messages`` (run notebooks without stalled kernel waits). They may import the core and the
lessons' floor; nothing below imports them.
"""
