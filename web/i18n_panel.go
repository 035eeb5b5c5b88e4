package web

// panelMessages are the strings of the panel's call control (panel_control.go), merged into
// messages by init.
var panelMessages = map[string]map[string]string{
	"ru": {
		"pnl_control_note":    "Кнопки на карточке звонка: вызвать оператора сейчас, перевести разговор, положить трубку.",
		"pnl_call_actions":    "Что сделать со звонком",
		"pnl_st_incoming":     "Звонит, станция ещё не ответила",
		"pnl_st_menu":         "Слушает приветствие и меню",
		"pnl_st_voicemail":    "Оставляет сообщение",
		"pnl_st_queue":        "Ждёт в очереди",
		"pnl_st_queue_pos":    "Ждёт в очереди, №%d",
		"pnl_st_ringing":      "Звонит оператору: %s",
		"pnl_st_ringing_any":  "Звонит операторам",
		"pnl_st_talking":      "Разговаривает: %s",
		"pnl_take_label":      "Вызвать сейчас",
		"pnl_take":            "Вызвать только выбранного",
		"pnl_transfer_label":  "Перевести на",
		"pnl_transfer":        "Перевести",
		"pnl_hangup":          "Положить трубку",
		"pnl_me":              "это я",
		"pnl_no_operators":    "Нет операторов с телефоном.",
		"pnl_hung_up":         "Звонок завершён.",
		"pnl_transferred":     "Разговор переводится, звонит телефон оператора.",
		"pnl_taken":           "Звонит телефон выбранного оператора. Если он не ответит, звонок пойдёт дальше как обычно.",
		"pnl_err_off":         "Управлять звонками с этой станции нельзя.",
		"pnl_err_nocall":      "На этой линии уже нет звонка.",
		"pnl_err_notanswered": "Станция ещё не ответила на звонок. Подождите секунду.",
		"pnl_err_nottalking":  "Сейчас никто не разговаривает с абонентом — переводить некого.",
		"pnl_err_notwaiting":  "Абонент сейчас не ждёт оператора.",
		"pnl_err_unknownop":   "Такого оператора нет.",
		"pnl_err_nophone":     "У этого оператора сейчас нет телефона, на который можно позвонить (для перевода нужен подключённый SIP-телефон).",
		"pnl_err_failed":      "Не получилось. Попробуйте ещё раз.",
	},
	"en": {
		"pnl_control_note":    "The buttons on a call's card ring an operator now, transfer the conversation or hang up.",
		"pnl_call_actions":    "What to do with the call",
		"pnl_st_incoming":     "Ringing; the box has not answered yet",
		"pnl_st_menu":         "Listening to the greeting and menu",
		"pnl_st_voicemail":    "Leaving a message",
		"pnl_st_queue":        "Waiting in the queue",
		"pnl_st_queue_pos":    "Waiting in the queue, number %d",
		"pnl_st_ringing":      "Ringing: %s",
		"pnl_st_ringing_any":  "Ringing the operators",
		"pnl_st_talking":      "Talking with %s",
		"pnl_take_label":      "Ring now",
		"pnl_take":            "Ring only them",
		"pnl_transfer_label":  "Transfer to",
		"pnl_transfer":        "Transfer",
		"pnl_hangup":          "Hang up",
		"pnl_me":              "me",
		"pnl_no_operators":    "No operators with a phone.",
		"pnl_hung_up":         "The call is ended.",
		"pnl_transferred":     "Transferring: the operator's phone rings.",
		"pnl_taken":           "The chosen operator's phone rings. If they do not answer, the call goes on as usual.",
		"pnl_err_off":         "Calls cannot be controlled from this box.",
		"pnl_err_nocall":      "There is no call on this line any more.",
		"pnl_err_notanswered": "The box has not answered the call yet. Wait a second.",
		"pnl_err_nottalking":  "Nobody is talking with the caller now, so there is nothing to transfer.",
		"pnl_err_notwaiting":  "The caller is not waiting for an operator now.",
		"pnl_err_unknownop":   "There is no such operator.",
		"pnl_err_nophone":     "This operator has no phone the box can ring now (a transfer needs a connected SIP phone).",
		"pnl_err_failed":      "That did not work. Please try again.",
	},
}

func init() {
	for lang, m := range panelMessages {
		for k, v := range m {
			messages[lang][k] = v
		}
	}
}
