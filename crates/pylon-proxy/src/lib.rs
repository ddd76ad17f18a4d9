//! pylon-proxy: filled by its issue.
