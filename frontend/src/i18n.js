// UI strings in English and Korean, and applying them to the page.

/** @typedef {'en'|'ko'} Lang */

const STRINGS = {
  en: {
    skipToGraph: 'Skip to the graph',
    programToolbar: 'Program',
    viewToolbar: 'View',
    examples: 'Examples',
    chooseExample: 'Choose an example…',
    device: 'Device',
    run: 'Run',
    running: 'Running…',
    rawView: 'Autograd view',
    tensorView: 'Tensor view',
    collapseModules: 'Collapse modules',
    presenter: 'Presenter',
    darkTheme: 'Dark',
    language: 'Language',
    copyLink: 'Copy link',
    linkCopied: 'Link copied',
    download: 'Download',
    graphJson: 'Graph JSON',
    program: 'Program',
    graph: 'Graph',
    graphViewLabel: 'Autograd graph',
    emptyGraph: 'Write a program and press Run.',
    zoom: 'Zoom',
    zoomIn: 'Zoom in',
    zoomOut: 'Zoom out',
    zoomFit: 'Fit to screen',
    fullscreen: 'Fullscreen',
    animation: 'Animation',
    restart: 'Restart',
    stepBack: 'Step back',
    play: 'Play',
    pause: 'Pause',
    stepForward: 'Step forward',
    timeline: 'Timeline',
    speed: 'Speed',
    details: 'Details',
    selectHint: 'Click a node to see it in full.',
    printedHeading: 'Printed output',
    notesHeading: 'Notes',
    editorLabel: 'Python program',
    legendLeaf: 'leaf (requires grad)',
    legendParam: 'parameter',
    legendConstant: 'constant',
    legendIntermediate: 'intermediate',
    legendOutput: 'output',
    legendOp: 'operation',
    legendCut: 'cut: no gradient (detach / no_grad)',
    legendFlow: 'running now: forward / backward',
    value: 'value',
    gradient: 'gradient',
    attributes: 'Attributes',
    saved: 'Saved for backward',
    gradsSent: 'Gradients sent to inputs',
    hint: 'Hint',
    errorAt: 'Line {line}, column {col}',
    errorNetwork: 'Could not reach the server.',
    errorBusy: 'The server is busy. Try again in {seconds} s.',
    errorTooMany: 'This computer sent too many programs at once. Try again in {seconds} s.',
    errorMalformed: 'The request was not understood.',
    errorLayout: 'The graph could not be laid out: {message}',
    stats: 'min {min} · max {max} · mean {mean} · std {std}',
    moreValues: '… {count} values',
    heatmapScale: 'Colour scale from {min} to {max}: blue cells are below 0, orange above, paler nearer 0',
    notComputed: 'not computed yet',
    noGrad: 'no gradient',
    gradAfterPass: '.grad after backward() #{n}',
    gradInPass: 'in backward() #{n}',
    grad: 'grad',
    nodesCount: '{nodes} nodes',
    module: 'module',
    collapsedModule: '{count} nodes',
    collapsedModuleOne: '1 node',
    openModule: 'Click to open this module',
    // narration
    stepStart: 'The program is ready: {leaves}. Press ▶ or → to run it forward.',
    stepStartNoLeaves: 'The program is ready. Press ▶ or → to run it forward.',
    narrForward: 'Forward: {output} = {op}({inputs}) = {value}',
    narrForwardNoValue: 'Forward: {output} = {op}({inputs})',
    narrForwardBare: 'Forward: {expr} = {value}',
    narrForwardExpr: 'Forward: {output} = {expr} = {value}',
    narrForwardExprNoValue: 'Forward: {output} = {expr}',
    stepSeedPass: 'backward() #{n} of {total}',
    stepSeedAutomatic: 'The program never back-propagated its output, so gradtrace runs backward() from it (pass {n}); what the program printed is unchanged.',
    stepSkipped: 'Iterations {from}–{to} ran too: not kept in detail (the loss plot shows them).',
    stepSkippedOne: 'Iteration {from} ran too: not kept in detail (the loss plot shows it).',
    updateOptimizer: 'optimizer.step() ({how}) moves {names} against the gradient',
    updateOptimizerPlain: 'optimizer.step() moves {names} against the gradient',
    updateInplace: 'Update in place, not recorded by autograd: {names}',
    updateZeroGrad: 'Gradients reset: {names}',
    updateScheduler: 'scheduler.step(): lr {before} → {after}',
    updateLine: '{text}',
    updateAdam: 'Adam step {step} for {name}: m = {m}, v = {v}',
    updateMore: '… and {count} more',
    lossPlotTitle: 'Loss per iteration',
    lossPlotLabel: 'Loss per iteration: click an iteration to see its graph',
    lossPlotSampled: '{shown} of {total} iterations are kept in detail (the first, the last and a sample between); the plot shows all of them.',
    iterationAll: 'All iterations',
    iterationShown: 'Iteration {n}',
    iterationNearest: 'Iteration {n} is not kept in detail: showing iteration {m}, the nearest one.',
    updatesHeading: 'Updates',
    valueInPass: 'value read by backward() #{n}',
    stepSeed: 'Backward starts at {output}: ∂{output}/∂{output} = 1',
    stepBackward: 'Backward through {op}: ',
    chain: '∂{root}/∂{out} = {upstream}, ∂{out}/∂{input} = {local} → {upstream} × {local} = {product}',
    chainTensor: '∂{root}/∂{input} gets {grad}',
    accumulate: '{name}.grad = {sum}',
    accumulateSum: '{name}.grad = {terms} = {sum}',
    stepDone: 'Done: every gradient has arrived.',
    stepForwardDone: 'The forward pass is done. This program did not call backward().',
    stepOf: '{step} / {total}',
    previousRun: 'Previous run: this graph is not from the program as it is now',
    stepHint: 'Press → (or a clicker\'s next button) to step',
  },
  ko: {
    skipToGraph: '그래프로 건너뛰기',
    programToolbar: '프로그램',
    viewToolbar: '보기',
    examples: '예제',
    chooseExample: '예제 선택…',
    device: '장치',
    run: '실행',
    running: '실행 중…',
    rawView: 'autograd 보기',
    tensorView: '텐서 보기',
    collapseModules: '모듈 접기',
    presenter: '발표 모드',
    darkTheme: '어두운 테마',
    language: '언어',
    copyLink: '링크 복사',
    linkCopied: '링크를 복사했습니다',
    download: '내려받기',
    graphJson: '그래프 JSON',
    program: '프로그램',
    graph: '그래프',
    graphViewLabel: 'autograd 그래프',
    emptyGraph: '프로그램을 작성하고 실행을 누르세요.',
    zoom: '확대/축소',
    zoomIn: '확대',
    zoomOut: '축소',
    zoomFit: '화면에 맞추기',
    fullscreen: '전체 화면',
    animation: '애니메이션',
    restart: '처음으로',
    stepBack: '이전 단계',
    play: '재생',
    pause: '일시 정지',
    stepForward: '다음 단계',
    timeline: '타임라인',
    speed: '속도',
    details: '자세히',
    selectHint: '노드를 클릭하면 전체 내용을 볼 수 있습니다.',
    printedHeading: '출력된 내용',
    notesHeading: '참고',
    editorLabel: '파이썬 프로그램',
    legendLeaf: '리프 (requires_grad)',
    legendParam: '매개변수',
    legendConstant: '상수',
    legendIntermediate: '중간값',
    legendOutput: '출력',
    legendOp: '연산',
    legendCut: '끊김: 기울기 없음 (detach / no_grad)',
    legendFlow: '지금 진행 중: 순전파 / 역전파',
    value: '값',
    gradient: '기울기',
    attributes: '속성',
    saved: '역전파용 저장값',
    gradsSent: '입력으로 보낸 기울기',
    hint: '도움말',
    errorAt: '{line}번째 줄, {col}번째 칸',
    errorNetwork: '서버에 연결할 수 없습니다.',
    errorBusy: '서버가 바쁩니다. {seconds}초 후에 다시 시도하세요.',
    errorTooMany: '이 컴퓨터에서 한꺼번에 너무 많은 프로그램을 보냈습니다. {seconds}초 후에 다시 시도하세요.',
    errorMalformed: '요청을 이해할 수 없습니다.',
    errorLayout: '그래프를 배치할 수 없습니다: {message}',
    stats: '최소 {min} · 최대 {max} · 평균 {mean} · 표준편차 {std}',
    moreValues: '… 값 {count}개',
    heatmapScale: '색 척도 {min}부터 {max}까지: 파란 칸은 0보다 작고 주황 칸은 0보다 크며, 0에 가까울수록 옅습니다',
    notComputed: '아직 계산되지 않음',
    noGrad: '기울기 없음',
    gradAfterPass: '{n}번째 backward() 후의 .grad',
    gradInPass: '{n}번째 backward()에서',
    grad: '기울기',
    nodesCount: '노드 {nodes}개',
    module: '모듈',
    collapsedModule: '노드 {count}개',
    collapsedModuleOne: '노드 1개',
    openModule: '클릭하면 이 모듈이 펼쳐집니다',
    stepStart: '프로그램 준비 완료: {leaves}. ▶ 또는 → 를 눌러 순전파를 시작하세요.',
    stepStartNoLeaves: '프로그램 준비 완료. ▶ 또는 → 를 눌러 순전파를 시작하세요.',
    narrForward: '순전파: {output} = {op}({inputs}) = {value}',
    narrForwardNoValue: '순전파: {output} = {op}({inputs})',
    narrForwardBare: '순전파: {expr} = {value}',
    narrForwardExpr: '순전파: {output} = {expr} = {value}',
    narrForwardExprNoValue: '순전파: {output} = {expr}',
    stepSeedPass: '{total}번 중 {n}번째 backward()',
    stepSeedAutomatic: '프로그램이 출력에서 역전파하지 않아 gradtrace가 출력에서 backward()를 실행합니다({n}번째). 프로그램이 출력한 내용은 바뀌지 않습니다.',
    stepSkipped: '{from}–{to}번째 반복도 실행되었지만 자세히 보관하지 않았습니다 (손실 그래프에 나옵니다).',
    stepSkippedOne: '{from}번째 반복도 실행되었지만 자세히 보관하지 않았습니다 (손실 그래프에 나옵니다).',
    updateOptimizer: 'optimizer.step() ({how}): {names}이(가) 기울기 반대 방향으로 움직입니다',
    updateOptimizerPlain: 'optimizer.step(): {names}이(가) 기울기 반대 방향으로 움직입니다',
    updateInplace: '제자리 갱신 (autograd가 기록하지 않음): {names}',
    updateZeroGrad: '기울기 초기화: {names}',
    updateScheduler: 'scheduler.step(): lr {before} → {after}',
    updateLine: '{text}',
    updateAdam: '{name}의 Adam {step}단계: m = {m}, v = {v}',
    updateMore: '… 외 {count}개',
    lossPlotTitle: '반복별 손실',
    lossPlotLabel: '반복별 손실: 반복을 클릭하면 그 반복의 그래프를 봅니다',
    lossPlotSampled: '{total}번 반복 중 {shown}번을 자세히 보관했습니다 (처음, 마지막, 그 사이 일부). 그래프에는 모두 나옵니다.',
    iterationAll: '모든 반복',
    iterationShown: '{n}번째 반복',
    iterationNearest: '{n}번째 반복은 자세히 보관하지 않았습니다: 가장 가까운 {m}번째 반복을 보여 줍니다.',
    updatesHeading: '갱신',
    valueInPass: '{n}번째 backward()가 읽은 값',
    stepSeed: '역전파는 {output}에서 시작합니다: ∂{output}/∂{output} = 1',
    stepBackward: '{op}을(를) 거치는 역전파: ',
    chain: '∂{root}/∂{out} = {upstream}, ∂{out}/∂{input} = {local} → {upstream} × {local} = {product}',
    chainTensor: '∂{root}/∂{input} 에 {grad} 전달',
    accumulate: '{name}.grad = {sum}',
    accumulateSum: '{name}.grad = {terms} = {sum}',
    stepDone: '완료: 모든 기울기가 도착했습니다.',
    stepForwardDone: '순전파가 끝났습니다. 이 프로그램은 backward()를 호출하지 않았습니다.',
    stepOf: '{step} / {total}',
    previousRun: '이전 실행: 지금의 프로그램에서 나온 그래프가 아닙니다',
    stepHint: '→ (또는 발표용 리모컨의 다음 버튼)을 눌러 한 단계씩 진행하세요',
  },
};

/** @type {Lang} */
let current = 'en';

/** @returns {Lang} the language the browser prefers, if we have it. */
export function browserLanguage() {
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    const base = String(tag || '').slice(0, 2).toLowerCase();
    if (base === 'ko' || base === 'en') return /** @type {Lang} */ (base);
  }
  return 'en';
}

/** @param {string} lang @returns {Lang} */
export function normaliseLang(lang) {
  return lang === 'ko' ? 'ko' : 'en';
}

/** @returns {Lang} */
export function currentLang() {
  return current;
}

/** @param {Lang} lang */
export function setLang(lang) {
  current = normaliseLang(lang);
  document.documentElement.lang = current;
  applyToPage(document);
}

/**
 * The string for key in the current language with {name} placeholders filled.
 * @param {string} key @param {Record<string, unknown>} [params]
 */
export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Picks the current language out of an {en, ko} object (the API's titles and notes). */
export function pick(texts) {
  if (texts == null) return '';
  if (typeof texts === 'string') return texts;
  return texts[current] ?? texts.en ?? Object.values(texts)[0] ?? '';
}

/** Fills every element marked data-i18n (text) or data-i18n-aria (aria-label). */
export function applyToPage(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}
