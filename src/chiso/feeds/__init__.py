"""Live feeds: records pulled from the one-stop systems on a schedule (``chiso sources``)."""
