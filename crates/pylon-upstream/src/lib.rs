//! pylon-upstream: filled by its issue.
