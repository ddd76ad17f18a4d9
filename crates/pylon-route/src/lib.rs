//! pylon-route: filled by its issue.
