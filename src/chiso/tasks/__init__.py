"""Steering tasks (nhiệm vụ của Ban Chỉ đạo) under the "6 clear" rule, and the steering
committee (Ban Chỉ đạo) that follows them."""
