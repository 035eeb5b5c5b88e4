package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Languages the admin speaks. The first one is the default.
const (
	langRU = "ru"
	langEN = "en"
)

// langCookie remembers the language the owner picked with the switch.
const langCookie = "hotline_lang"

var languages = []struct{ Code, Name string }{
	{langRU, "Русский"},
	{langEN, "English"},
}

// messages holds every text of the pages, by language and key. Templates read them as
// {{.T.key}}; a test checks that both languages have the same keys and that every key a
// template uses exists.
var messages = map[string]map[string]string{
	langRU: {
		"app_name":         "Горячая линия",
		"skip":             "К содержимому",
		"nav_label":        "Разделы",
		"nav_calls":        "Звонки",
		"nav_voicemail":    "Сообщения",
		"new_suffix":       "новых",
		"logout":           "Выйти",
		"language":         "Язык",
		"signed_in_as":     "Вы вошли как",
		"setup_title":      "Первый запуск",
		"setup_intro":      "Придумайте пароль, с которым вы будете входить сюда. Чтобы подтвердить, что коробка ваша, введите код настройки.",
		"setup_where":      "Код настройки — восемь цифр, например 4821-0937. Коробка показывает его при первом запуске, и он лежит в файле:",
		"setup_code":       "Код настройки",
		"setup_user":       "Имя для входа будет: owner",
		"new_password":     "Новый пароль",
		"repeat_password":  "Пароль ещё раз",
		"password_rule":    "Не короче 8 символов. Лучше несколько слов, которые легко запомнить.",
		"setup_submit":     "Сохранить и войти",
		"err_setup_code":   "Код настройки не подошёл. Проверьте цифры и попробуйте ещё раз.",
		"err_claimed":      "Коробка уже настроена. Войдите со своим паролем.",
		"err_weak":         "Пароль слишком короткий: нужно не меньше 8 символов.",
		"err_mismatch":     "Пароли не совпадают. Введите один и тот же пароль дважды.",
		"login_title":      "Вход",
		"username":         "Имя",
		"password":         "Пароль",
		"login_submit":     "Войти",
		"login_forgot":     "Забыли пароль? Его можно задать заново на самой коробке командой hotline passwd.",
		"err_login":        "Неверное имя или пароль.",
		"err_too_many":     "Слишком много попыток. Попробуйте снова через %d мин.",
		"calls_title":      "Звонки",
		"calls_empty":      "Звонков пока не было.",
		"col_time":         "Время",
		"col_number":       "Номер",
		"col_line":         "Линия",
		"col_duration":     "Длительность",
		"col_menu":         "Нажатые кнопки",
		"col_outcome":      "Итог",
		"hidden_number":    "Номер скрыт",
		"listen":           "Слушать сообщение",
		"older":            "Более ранние звонки",
		"newest":           "К последним звонкам",
		"vm_title":         "Голосовые сообщения",
		"vm_show_new":      "Новые",
		"vm_show_all":      "Все",
		"vm_show_label":    "Показать",
		"vm_empty_new":     "Новых сообщений нет.",
		"vm_empty_all":     "Сообщений пока нет.",
		"vm_from":          "От",
		"vm_recording":     "Ещё записывается",
		"vm_handled":       "Обработано",
		"vm_handled_by":    "отметил(а)",
		"vm_new":           "Новое",
		"vm_mark":          "Отметить как обработанное",
		"vm_unmark":        "Вернуть в новые",
		"vm_download":      "Скачать",
		"vm_no_audio":      "Ваш браузер не может проиграть запись. Скачайте её.",
		"vm_marked":        "Сообщение отмечено как обработанное.",
		"vm_unmarked":      "Сообщение снова в новых.",
		"out_progress":     "Идёт сейчас",
		"out_voicemail":    "Оставил(а) сообщение",
		"out_abandoned":    "Положил(а) трубку, не выбрав",
		"out_missed":       "Пропущен, не отвечен",
		"out_completed":    "Прослушал(а) информацию",
		"out_failed":       "Сбой связи",
		"err_title":        "Что-то пошло не так",
		"err_notfound":     "Такой страницы нет.",
		"err_forbidden":    "Этот запрос пришёл с другого сайта и был отклонён. Откройте страницу заново и повторите.",
		"err_role":         "У вашей учётной записи нет доступа к этой странице.",
		"err_internal":     "Внутренняя ошибка коробки. Попробуйте ещё раз через минуту.",
		"err_bad_request":  "Неправильный запрос. Откройте страницу заново и повторите.",
		"back_home":        "На главную",
		"change_password":  "Сменить пароль",
		"pw_title":         "Смена пароля",
		"pw_intro":         "Введите пароль, с которым вы вошли, и новый пароль дважды. После смены вы останетесь здесь, а на всех других устройствах вход придётся выполнить заново.",
		"current_password": "Текущий пароль",
		"pw_submit":        "Сменить пароль",
		"pw_changed":       "Пароль изменён. На других устройствах нужно войти заново.",
		"err_current":      "Текущий пароль введён неверно.",

		// The dashboard.
		"nav_dashboard":       "Обзор",
		"dash_title":          "Обзор",
		"dash_today":          "Звонки сегодня",
		"dash_total":          "Всего",
		"dash_answered":       "Отвечено",
		"dash_missed":         "Пропущено",
		"dash_voicemail":      "Сообщений",
		"dash_active":         "Разговоров сейчас",
		"dash_lines":          "Линии",
		"dash_no_lines":       "Линии не подключены. Подключите модем и перезапустите коробку.",
		"dash_refresh":        "Страница обновляется сама каждые 15 секунд.",
		"line_ready":          "Работает",
		"line_no_sim":         "Нет SIM-карты",
		"line_pin":            "SIM-карта просит PIN-код",
		"line_searching":      "Ищет сеть",
		"line_not_registered": "Нет сети",
		"line_down":           "Не работает",
		"line_no_voice":       "Модем не умеет звонить",
		"line_starting":       "Запускается",
		"sim_label":           "SIM-карта",
		"sim_unknown":         "Неизвестно",
		"sim_ready":           "В порядке",
		"sim_pin":             "Нужен PIN-код",
		"sim_puk":             "Заблокирована (нужен PUK-код)",
		"sim_absent":          "Не вставлена",
		"sim_rejected":        "PIN-код не подошёл",
		"operator_label":      "Оператор",
		"no_operator":         "Нет сети",
		"roaming":             "роуминг",
		"signal_label":        "Сигнал",
		"signal_of":           "%d из %d",
		"model_label":         "Модем",
		"call_label":          "Звонок",
		"call_idle":           "Свободна",
		"call_since":          "с",
		"alert_down":          "Линия %s не работает: модем не отвечает. Проверьте, что он подключён и включён, затем перезапустите коробку.",
		"alert_no_sim":        "В линии %s нет SIM-карты: на неё не дозвониться. Вставьте SIM-карту.",
		"alert_pin":           "SIM-карта линии %s просит PIN-код, поэтому звонки не принимаются. Вставьте её в телефон и отключите запрос PIN-кода.",

		// SMS inbox.
		"nav_sms":              "SMS",
		"sms_title":            "SMS",
		"sms_empty":            "SMS пока не приходили.",
		"sms_from":             "от",
		"sms_to":               "кому",
		"sms_parts":            "частей",
		"sms_incomplete":       "часть сообщения не дошла",
		"sms_text":             "Текст",
		"sms_number":           "Номер",
		"sms_reply":            "Ответить",
		"sms_send":             "Отправить",
		"sms_new":              "Новое SMS",
		"sms_sent":             "SMS отправлено.",
		"sms_send_failed":      "SMS не отправлено: модем или сеть отказали. Проверьте линию и попробуйте ещё раз.",
		"sms_bad_input":        "Укажите номер и текст (не длиннее 670 символов).",
		"sms_disabled":         "Отправка SMS из админки выключена на этой коробке: входящие SMS видны, ответить можно с телефона.",
		"sms_marked":           "SMS отмечено как обработанное.",
		"sms_unmarked":         "SMS снова отмечено как новое.",
		"sms_mark_handled":     "Обработано",
		"sms_mark_new":         "Вернуть в новые",
		"sms_status_queued":    "в очереди",
		"sms_status_sent":      "отправлено",
		"sms_status_failed":    "не отправлено",
		"sms_status_delivered": "доставлено",
	},
	langEN: {
		"app_name":         "Hotline",
		"skip":             "Skip to content",
		"nav_label":        "Sections",
		"nav_calls":        "Calls",
		"nav_voicemail":    "Voicemail",
		"new_suffix":       "new",
		"logout":           "Log out",
		"language":         "Language",
		"signed_in_as":     "Signed in as",
		"setup_title":      "First start",
		"setup_intro":      "Choose the password you will use to sign in here. To show that the box is yours, enter its setup code.",
		"setup_where":      "The setup code is eight digits, like 4821-0937. The box shows it when it starts for the first time, and keeps it in this file:",
		"setup_code":       "Setup code",
		"setup_user":       "Your sign-in name will be: owner",
		"new_password":     "New password",
		"repeat_password":  "Password again",
		"password_rule":    "At least 8 characters. A few words that are easy to remember work well.",
		"setup_submit":     "Save and sign in",
		"err_setup_code":   "That setup code is not right. Check the digits and try again.",
		"err_claimed":      "This box is already set up. Sign in with your password.",
		"err_weak":         "The password is too short: it needs at least 8 characters.",
		"err_mismatch":     "The passwords do not match. Type the same password twice.",
		"login_title":      "Sign in",
		"username":         "Name",
		"password":         "Password",
		"login_submit":     "Sign in",
		"login_forgot":     "Forgot the password? Set a new one on the box itself with the command hotline passwd.",
		"err_login":        "Wrong name or password.",
		"err_too_many":     "Too many attempts, try again in %d minutes.",
		"calls_title":      "Calls",
		"calls_empty":      "No calls yet.",
		"col_time":         "Time",
		"col_number":       "Number",
		"col_line":         "Line",
		"col_duration":     "Length",
		"col_menu":         "Keys pressed",
		"col_outcome":      "Result",
		"hidden_number":    "Number hidden",
		"listen":           "Listen to the message",
		"older":            "Older calls",
		"newest":           "Back to the latest calls",
		"vm_title":         "Voicemail",
		"vm_show_new":      "New",
		"vm_show_all":      "All",
		"vm_show_label":    "Show",
		"vm_empty_new":     "No new messages.",
		"vm_empty_all":     "No messages yet.",
		"vm_from":          "From",
		"vm_recording":     "Still recording",
		"vm_handled":       "Handled",
		"vm_handled_by":    "marked by",
		"vm_new":           "New",
		"vm_mark":          "Mark as handled",
		"vm_unmark":        "Mark as new again",
		"vm_download":      "Download",
		"vm_no_audio":      "Your browser cannot play this recording. Download it instead.",
		"vm_marked":        "The message is marked as handled.",
		"vm_unmarked":      "The message is back among the new ones.",
		"out_progress":     "In progress",
		"out_voicemail":    "Left a message",
		"out_abandoned":    "Hung up before choosing",
		"out_missed":       "Missed, not answered",
		"out_completed":    "Listened to the information",
		"out_failed":       "Line problem",
		"err_title":        "Something went wrong",
		"err_notfound":     "There is no such page.",
		"err_forbidden":    "This request came from another site and was refused. Open the page again and retry.",
		"err_role":         "Your account has no access to this page.",
		"err_internal":     "The box had an internal error. Try again in a minute.",
		"err_bad_request":  "The request was not understood. Open the page again and retry.",
		"back_home":        "Home",
		"change_password":  "Change password",
		"pw_title":         "Change password",
		"pw_intro":         "Enter the password you signed in with, and the new one twice. You stay signed in here; every other device has to sign in again.",
		"current_password": "Current password",
		"pw_submit":        "Change password",
		"pw_changed":       "The password is changed. Other devices have to sign in again.",
		"err_current":      "The current password is not right.",

		// The dashboard.
		"nav_dashboard":       "Overview",
		"dash_title":          "Overview",
		"dash_today":          "Calls today",
		"dash_total":          "All",
		"dash_answered":       "Answered",
		"dash_missed":         "Missed",
		"dash_voicemail":      "Messages",
		"dash_active":         "Calls now",
		"dash_lines":          "Lines",
		"dash_no_lines":       "No lines are connected. Plug a modem in and restart the box.",
		"dash_refresh":        "This page updates itself every 15 seconds.",
		"line_ready":          "Working",
		"line_no_sim":         "No SIM card",
		"line_pin":            "The SIM card asks for its PIN",
		"line_searching":      "Looking for a network",
		"line_not_registered": "No network",
		"line_down":           "Not working",
		"line_no_voice":       "The modem cannot make calls",
		"line_starting":       "Starting",
		"sim_label":           "SIM card",
		"sim_unknown":         "Unknown",
		"sim_ready":           "OK",
		"sim_pin":             "PIN needed",
		"sim_puk":             "Locked (PUK needed)",
		"sim_absent":          "Not inserted",
		"sim_rejected":        "The PIN was refused",
		"operator_label":      "Network",
		"no_operator":         "No network",
		"roaming":             "roaming",
		"signal_label":        "Signal",
		"signal_of":           "%d of %d",
		"model_label":         "Modem",
		"call_label":          "Call",
		"call_idle":           "Free",
		"call_since":          "since",
		"alert_down":          "Line %s is not working: its modem does not answer. Check that it is plugged in and powered, then restart the box.",
		"alert_no_sim":        "Line %s has no SIM card, so nobody can call it. Insert a SIM card.",
		"alert_pin":           "The SIM card of line %s asks for its PIN, so calls are not taken. Put it in a phone and turn the PIN request off.",

		// SMS inbox.
		"nav_sms":              "SMS",
		"sms_title":            "SMS",
		"sms_empty":            "No SMS yet.",
		"sms_from":             "from",
		"sms_to":               "to",
		"sms_parts":            "parts",
		"sms_incomplete":       "part of the message never came",
		"sms_text":             "Text",
		"sms_number":           "Number",
		"sms_reply":            "Reply",
		"sms_send":             "Send",
		"sms_new":              "New SMS",
		"sms_sent":             "The SMS was sent.",
		"sms_send_failed":      "The SMS was not sent: the modem or the network refused it. Check the line and try again.",
		"sms_bad_input":        "Give a number and a text (at most 670 characters).",
		"sms_disabled":         "Sending SMS from the admin is off on this box: incoming SMS show here, reply from a phone.",
		"sms_marked":           "The SMS is marked as handled.",
		"sms_unmarked":         "The SMS is marked as new again.",
		"sms_mark_handled":     "Handled",
		"sms_mark_new":         "Mark as new",
		"sms_status_queued":    "queued",
		"sms_status_sent":      "sent",
		"sms_status_failed":    "not sent",
		"sms_status_delivered": "delivered",
	},
}

// outcomeKeys maps a call outcome from the store to its message key.
var outcomeKeys = map[string]string{
	"":          "out_progress",
	"voicemail": "out_voicemail",
	"abandoned": "out_abandoned",
	"missed":    "out_missed",
	"completed": "out_completed",
	"failed":    "out_failed",
}

// outcomeText says an outcome in plain words; an outcome this version does not know is shown
// as it is (the template escapes it).
func outcomeText(lang, outcome string) string {
	if k, ok := outcomeKeys[outcome]; ok {
		return messages[lang][k]
	}
	return outcome
}

// pickLang chooses the language of a request: the cookie set by the switch, then the
// browser's Accept-Language, then Russian.
func pickLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && knownLang(c.Value) {
		return c.Value
	}
	return langFromAccept(r.Header.Get("Accept-Language"))
}

func knownLang(code string) bool {
	_, ok := messages[code]
	return ok
}

// langFromAccept returns the known language with the highest q in an Accept-Language header,
// the earlier one on ties, or the default.
func langFromAccept(header string) string {
	best, bestQ := langRU, 0.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > bestQ && knownLang(primary) {
			best, bestQ = primary, q
		}
	}
	return best
}

// formatTime shows a moment in the box's time zone the way people of the language write it.
func formatTime(lang string, t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	if lang == langEN {
		return t.Format("2 Jan 2006, 15:04")
	}
	return t.Format("02.01.2006 15:04")
}

// formatDuration shows a length as m:ss or h:mm:ss, rounded to the second.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	h, m := s/3600, s/60%60
	s %= 60
	if h > 0 {
		return strconv.FormatInt(h, 10) + ":" + pad2(m) + ":" + pad2(s)
	}
	return strconv.FormatInt(m, 10) + ":" + pad2(s)
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}
