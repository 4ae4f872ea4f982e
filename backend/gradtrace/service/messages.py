"""Messages of the errors the service itself reports (the worker pool, the HTTP layer).

Codes carry a ``service_`` prefix so they never collide with a stage's own codes.
"""

from __future__ import annotations

from gradtrace.core.messages import register

register({
    "service_timeout": {
        "en": "The program ran longer than {seconds} seconds and was stopped.",
        "ko": "프로그램이 {seconds}초보다 오래 실행되어 중단되었습니다.",
        "hint_en": "Use smaller tensors or fewer loop iterations.",
        "hint_ko": "텐서를 더 작게 하거나 반복 횟수를 줄여 보세요.",
    },
    "service_cpu_time": {
        "en": "The program used more than {seconds} seconds of CPU time and was stopped.",
        "ko": "프로그램이 CPU 시간을 {seconds}초보다 많이 사용하여 중단되었습니다.",
        "hint_en": "Use smaller tensors or fewer loop iterations.",
        "hint_ko": "텐서를 더 작게 하거나 반복 횟수를 줄여 보세요.",
    },
    "service_memory": {
        "en": "The program needed more than the {megabytes} MiB of memory a program may use.",
        "ko": "프로그램이 사용할 수 있는 메모리 {megabytes} MiB보다 많이 필요했습니다.",
        "hint_en": "Use smaller tensors.",
        "hint_ko": "더 작은 텐서를 사용해 보세요.",
    },
    "service_worker_lost": {
        "en": "The process running this program stopped unexpectedly; the program did not finish.",
        "ko": "이 프로그램을 실행하던 프로세스가 예기치 않게 멈춰 프로그램이 끝나지 않았습니다.",
        "hint_en": "Run it again; if it stops again, make the program smaller.",
        "hint_ko": "다시 실행해 보세요. 또 멈추면 프로그램을 더 작게 만들어 보세요.",
    },
    "service_device_not_allowed": {
        "en": "This server does not run programs on {device}.",
        "ko": "이 서버는 {device}에서 프로그램을 실행하지 않습니다.",
        "hint_en": "Choose one of the devices the server lists (GET /api/devices), e.g. cpu.",
        "hint_ko": "서버가 제공하는 장치(GET /api/devices) 중 하나, 예를 들어 cpu를 선택하세요.",
    },
    "service_body_too_large": {
        "en": "The request is larger than the {kib} KiB this server accepts.",
        "ko": "요청이 이 서버가 받는 {kib} KiB보다 큽니다.",
        "hint_en": "Send a shorter program.",
        "hint_ko": "더 짧은 프로그램을 보내세요.",
    },
    "service_connections": {
        "en": "The server has too many open connections from this address; try again in {seconds} seconds.",
        "ko": "이 주소에서 서버로 연결이 너무 많이 열려 있습니다. {seconds}초 후에 다시 시도하세요.",
        "hint_en": "Close other tabs or programs that keep connections to this server open.",
        "hint_ko": "이 서버에 연결을 열어 둔 다른 탭이나 프로그램을 닫아 보세요.",
    },
    "service_request_timeout": {
        "en": "The request did not arrive in time (its headers within {seconds} seconds); "
              "the connection was closed.",
        "ko": "요청이 제시간에 도착하지 않아({seconds}초 안에 헤더가 오지 않음) 연결을 닫았습니다.",
        "hint_en": "Send the request again.",
        "hint_ko": "요청을 다시 보내세요.",
    },
    "service_reply_too_large": {
        "en": "The program's graph is {megabytes} MiB, more than the {limit} MiB this server sends.",
        "ko": "프로그램의 그래프가 {megabytes} MiB로, 이 서버가 보내는 {limit} MiB보다 큽니다.",
        "hint_en": "Draw less: use smaller tensors, fewer loop iterations or layers, trace one step of a "
                   "training loop, or pick the output to draw.",
        "hint_ko": "그릴 것을 줄이세요: 텐서를 더 작게, 반복이나 층을 더 적게 하거나, 학습 루프는 한 단계만 "
                   "추적하거나, 그릴 출력을 지정해 보세요.",
    },
    "service_overloaded": {
        "en": "The server is busy; try again in {seconds} seconds.",
        "ko": "서버가 바쁩니다. {seconds}초 후에 다시 시도하세요.",
    },
    "service_client_busy": {
        "en": "This computer already has {waiting} programs waiting to run; try again in {seconds} seconds.",
        "ko": "이 컴퓨터에서 보낸 프로그램 {waiting}개가 이미 실행을 기다리고 있습니다. "
              "{seconds}초 후에 다시 시도하세요.",
        "hint_en": "Wait for the programs you sent to finish.",
        "hint_ko": "보낸 프로그램이 끝날 때까지 기다려 주세요.",
    },
    "service_rate_limited": {
        "en": "Too many requests from this computer; try again in {seconds} seconds.",
        "ko": "이 컴퓨터에서 요청이 너무 많습니다. {seconds}초 후에 다시 시도하세요.",
    },
    "service_invalid_request": {
        "en": "The request is malformed: {problem}",
        "ko": "요청 형식이 잘못되었습니다: {problem}",
    },
    "service_not_found": {
        "en": "There is no API endpoint {path} (see /docs).",
        "ko": "API 엔드포인트 {path}는 없습니다(/docs 참고).",
    },
    "service_not_ready": {
        "en": "The server is still starting its workers; try again in {seconds} seconds.",
        "ko": "서버가 아직 작업 프로세스를 시작하는 중입니다. {seconds}초 후에 다시 시도하세요.",
    },
})
