//! pylon-config: filled by its issue.
