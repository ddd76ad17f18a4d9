//! pylon-accesslog: filled by its issue.
