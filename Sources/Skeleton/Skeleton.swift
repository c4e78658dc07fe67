// Module Skeleton.
